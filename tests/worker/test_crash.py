"""A worker killed with SIGKILL in the middle of a batch: after a restart nothing is lost and
nothing acknowledged is sent twice — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from collections import Counter

from sqlalchemy import func, select

from lessonloop.actions.service import add_action
from lessonloop.notifications import service as outbox
from lessonloop.notifications.config import WorkerConfig
from lessonloop.notifications.models import Delivery, Notification
from lessonloop.store.engine import Database
from lessonloop.worker.runner import run_once
from tests.factories import SYSTEM, failure, team_with_people
from tests.notifications.receivers import LOCAL, webhook_server

T0 = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)
ACTIONS = 12
LEASE = 300
JOBS = {"action-reminders"}


def _seed(db: Database, url: str) -> None:
    with db.unit() as s:
        team_with_people(s)
        outbox.set_preferences(
            s, "ben", channels=["webhook"], webhook_url=url, allow_hosts=LOCAL, viewer=SYSTEM
        )
        f = failure(s, team="Payments", detected_at=T0 - dt.timedelta(days=10))
        for i in range(ACTIONS):
            add_action(
                s,
                failure_id=f.id,
                title=f"Step {i}",
                owner="ben",
                due_date=T0.date() + dt.timedelta(days=2),
                backfill=True,
                viewer=SYSTEM,
            )


def _status_counts(db: Database) -> Counter[str]:
    with db.unit() as s:
        return Counter(s.scalars(select(Delivery.status)))


def test_sigkill_mid_batch_then_restart(db: Database) -> None:
    with webhook_server() as hook:
        hook.hold_after = 5  # acknowledge five, then hang on the sixth until the worker is dead
        _seed(db, hook.url)
        env = {
            **os.environ,
            "LESSONLOOP_WORKER_BATCH": "4",
            "LESSONLOOP_WORKER_SENDERS": "1",  # one send at a time: the counts below are exact
            "LESSONLOOP_LEASE_SECONDS": str(LEASE),
            "LESSONLOOP_WEBHOOK_TIMEOUT": "60",
            "LESSONLOOP_WORKER_JOB_MODULES": "",
            "LESSONLOOP_WEBHOOK_ALLOW_HOSTS": "127.0.0.1",  # the receiver is on loopback
        }
        url = db.engine.url.render_as_string(hide_password=False)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from lessonloop.cli.main import main; main()",
                "--database-url",
                url,
                "worker",
                "--once",
                "--now",
                T0.isoformat(),
                "--job",
                "action-reminders",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            assert hook.holding.wait(60), (
                proc.stderr.read().decode() if proc.poll() is not None else "no 6th call"
            )
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        assert proc.returncode == -signal.SIGKILL

        # The killed worker's jobs committed all twelve reminders; five were sent and recorded,
        # the one in flight is leased ("sending"); with one sender nothing else was claimed.
        with db.unit() as s:
            assert s.scalar(select(func.count(Notification.id))) == ACTIONS
        counts = _status_counts(db)
        assert counts == Counter({"sent": 5, "sending": 1, "pending": 6}), counts
        hook.release.set()

        # Restart at once: jobs enqueue nothing new; only the six never claimed go out.
        config = WorkerConfig(batch_size=4, lease_seconds=LEASE, webhook_allow_hosts=LOCAL)
        first = run_once(db, now=T0 + dt.timedelta(seconds=5), config=config, only_jobs=JOBS)
        assert first.sent == 6
        assert _status_counts(db) == Counter({"sent": 11, "sending": 1})
        # After the dead worker's lease runs out, its claimed delivery is taken over (the lease was
        # renewed when the send started: the killed worker's clock was T0 plus its run time).
        second = run_once(db, now=T0 + dt.timedelta(seconds=2 * LEASE), config=config, only_jobs=JOBS)
        assert second.sent == 1
        assert _status_counts(db) == Counter({"sent": ACTIONS})
        third = run_once(db, now=T0 + dt.timedelta(seconds=2 * LEASE + 60), config=config, only_jobs=JOBS)
        assert third.sent == 0

    with db.unit() as s:
        expected = {f"{k}#webhook" for k in s.scalars(select(Notification.dedupe_key))}
        assert s.scalar(select(func.count(Notification.id))) == ACTIONS  # no duplicate reminder
    acknowledged = Counter(hook.acknowledged)
    assert set(acknowledged) == expected  # nothing lost
    assert max(acknowledged.values()) == 1  # nothing acknowledged twice
    # The one request in flight at the kill was never answered; its retry carried the same key.
    attempts = Counter(k for k, _ in hook.requests)
    assert sorted(attempts.values()) == [1] * (ACTIONS - 1) + [2]


def test_sigterm_lets_the_send_in_flight_finish_and_exits_0(db: Database) -> None:
    """SIGTERM while a send hangs: the worker waits for it (its outcome is recorded), claims
    nothing more, leaves nothing leased, and exits 0 (it used to die at once, mid-send)."""
    with webhook_server() as hook:
        hook.hold_after = 2  # acknowledge two, then hold the third until released
        _seed(db, hook.url)
        env = {
            **os.environ,
            "LESSONLOOP_WORKER_SENDERS": "2",
            "LESSONLOOP_WEBHOOK_TIMEOUT": "60",
            "LESSONLOOP_WORKER_JOB_MODULES": "",
            "LESSONLOOP_WEBHOOK_ALLOW_HOSTS": "127.0.0.1",
        }
        url = db.engine.url.render_as_string(hide_password=False)
        cmd = [sys.executable, "-c", "from lessonloop.cli.main import main; main()", "--database-url", url]
        cmd += ["worker", "--once", "--now", T0.isoformat(), "--job", "action-reminders"]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            assert hook.holding.wait(60), (
                proc.stderr.read().decode() if proc.poll() is not None else "no hold"
            )
            proc.send_signal(signal.SIGTERM)
            hook.release.set()  # the held request ends (unanswered): a failed attempt, recorded
            assert proc.wait(60) == 0, proc.stderr.read().decode()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    counts = _status_counts(db)
    assert counts["sending"] == 0 and counts["sent"] >= 2, counts
    assert sum(counts.values()) == ACTIONS
    with db.unit() as s:
        attempted = s.scalars(
            select(Delivery).where(Delivery.status == "pending", Delivery.attempts > 0)
        ).all()
    assert len(attempted) >= 1  # the send in flight at SIGTERM: its outcome was recorded
