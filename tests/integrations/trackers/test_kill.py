"""The kill harness: the real worker (``lessonloop worker``, a subprocess) pushing actions to a
slowed tracker stand-in is killed with SIGKILL mid-sync ten times, then left to finish. Every
action ends with exactly one issue: none lost, none duplicated — GitHub on SQLite, Jira on
PostgreSQL (test_sync.py covers every kill point for both trackers on both backends).

The stand-in stores an issue, then waits ``DELAY`` before answering: the kills land inside that
window (the tracker has the issue, the database does not know it) and just after it, while the
number is being recorded. The lease is short so that each restarted worker takes over the dead
one's claim within seconds (and so must adopt the issue, not create another).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from sqlalchemy import select

from lessonloop.integrations.trackers import service
from lessonloop.integrations.trackers.models import ActionTrackerLink, LinkState, TrackerConnection
from lessonloop.store.engine import Database
from lessonloop.store.history import HistoryEntry
from tests.factories import SYSTEM
from tests.integrations.trackers.conftest import seed
from tests.integrations.trackers.standins import Tracker

ACTIONS = 14
KILLS = 10
DELAY = 0.3  # the stand-in holds each new issue's answer this long
OFFSETS = (0.0, 0.1, 0.2, 0.3, 0.4)  # when, after the issue is stored, the kill comes


def _worker(db: Database) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "LESSONLOOP_TRACKER_LEASE_SECONDS": "3",
        "LESSONLOOP_TRACKER_TIMEOUT": "2",  # cut to a quarter of the lease: 0.75 s > DELAY
        "LESSONLOOP_TRACKER_MAX_ATTEMPTS": "1000",  # kills count as attempts; none may fail it
        "LESSONLOOP_WORKER_JOB_MODULES": "",
    }
    url = db.engine.url.render_as_string(hide_password=False)
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from lessonloop.cli.main import main; main()",
            "--database-url",
            url,
            "worker",
            "--interval",
            "0.1",
            "--job",
            "tracker-push",
            "--quiet",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_for_issue(tracker: Tracker, count: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with tracker.lock:
            if len(tracker.issues) > count:
                return
        if proc.poll() is not None:
            raise AssertionError(f"the worker exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        time.sleep(0.005)
    raise AssertionError("the worker created no issue in time")


def _links(db: Database) -> list[ActionTrackerLink]:
    with db.unit() as s:
        return list(s.scalars(select(ActionTrackerLink).order_by(ActionTrackerLink.action_id)))


# Each restart imports the whole app (seconds on a busy machine): one tracker per backend.
@pytest.mark.parametrize(("db", "tracker"), [("sqlite", "github"), ("postgres", "jira")], indirect=True)
def test_killing_the_worker_mid_sync_loses_and_duplicates_no_issue(db: Database, tracker: Tracker) -> None:
    tracker.delay = DELAY
    world = seed(db, tracker, actions=ACTIONS)
    with db.unit(actor="ben") as s:
        for action_id in world.actions:
            service.push_action(s, action_id, viewer=SYSTEM)

    kills = 0
    for round_ in range(KILLS):
        with tracker.lock:
            before = len(tracker.issues)
        proc = _worker(db)
        try:
            _wait_for_issue(tracker, before, proc)
            time.sleep(OFFSETS[round_ % len(OFFSETS)])
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        kills += proc.returncode == -signal.SIGKILL
    assert kills == KILLS

    # Let one worker finish (taking over the last dead claim once its lease runs out).
    proc = _worker(db)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if all(link.state == LinkState.linked.value for link in _links(db)):
                break
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)

    links = _links(db)
    assert [link.action_id for link in links] == world.actions
    assert {link.state for link in links} == {LinkState.linked.value}
    with db.unit() as s:
        conn = s.get(TrackerConnection, world.connection_id)
        assert conn is not None
        labels = {service.marker_label(conn.workspace_tag, a): a for a in world.actions}
        adopted = sum(
            "adopted" in str(e.changes.get("tracker_issue", ""))
            for e in s.scalars(select(HistoryEntry).where(HistoryEntry.record_type == "action"))
        )
    with tracker.lock:
        per_label = Counter(label for issue in tracker.issues for label in issue["labels"])
        keys = {label: str(issue["key"]) for issue in tracker.issues for label in issue["labels"]}
    assert set(per_label) == set(labels)  # no issue for anything else, none missing
    assert max(per_label.values()) == 1, per_label  # none duplicated
    for link in links:  # each link names the one issue of its action
        assert keys[service.marker_label(conn.workspace_tag, link.action_id)] == link.issue_key
    # The harness did hit the dangerous window: issues created by a worker killed before it
    # recorded them were found and adopted by the next one.
    assert adopted >= 1
