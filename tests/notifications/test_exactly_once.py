"""Exactly once while workers live (issue #17), on both backends: fenced leases with a
heartbeat, attempts counted when a send starts, the current target for every retry, and an
outcome recorded through a short database outage. Time is a hand-driven clock and the second
worker runs at chosen moments inside the first one's send, so the interleavings are exact."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from lessonloop.notifications import service as outbox
from lessonloop.notifications.config import WorkerConfig
from lessonloop.notifications.models import Delivery
from lessonloop.people.service import add_person
from lessonloop.store.engine import Database
from lessonloop.worker.runner import deliver
from tests.factories import SYSTEM

T0 = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)
LEASE = 60


class Clock:
    """A clock the test moves by hand (thread-safe: senders run in the worker's threads)."""

    def __init__(self, start: dt.datetime) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> dt.datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += dt.timedelta(seconds=seconds)


def _setup(db: Database, count: int, url: str = "http://127.0.0.1:9/a") -> None:
    with db.unit() as s:
        ana = add_person(s, name="Ana", handle="ana", viewer=SYSTEM)
        outbox.set_preferences(
            s, "ana", channels=["webhook"], webhook_url=url, allow_hosts=["127.0.0.1"], viewer=SYSTEM
        )
        for i in range(count):
            outbox.enqueue(
                s,
                person_id=ana.id,
                kind="t",
                subject=f"s{i}",
                body_text="b",
                dedupe_key=f"k:{i}",
                now=T0,
                viewer=SYSTEM,
            )


def _statuses(db: Database) -> Counter[str]:
    with db.unit() as s:
        return Counter(s.scalars(select(Delivery.status)))


def test_two_live_workers_with_a_slow_receiver_never_send_twice(db: Database) -> None:
    """Each send takes 3/4 of a lease and worker B runs a whole pass inside each of A's sends:
    a lease stamped once for a batch ran out under A's later sends and B sent them again."""
    _setup(db, 6)
    clock = Clock(T0)
    config = WorkerConfig(lease_seconds=LEASE, batch_size=4, send_threads=1)
    seen: Counter[str] = Counter()

    def b_send(delivery: Delivery, _config: WorkerConfig) -> None:
        seen[delivery.idempotency_key] += 1

    def a_send(delivery: Delivery, _config: WorkerConfig) -> None:
        seen[delivery.idempotency_key] += 1
        clock.advance(LEASE * 3 / 4)  # a slow receiver
        deliver(db, now=clock(), clock=clock, config=config, worker_id="B", senders={"webhook": b_send})

    deliver(db, now=T0, clock=clock, config=config, worker_id="A", senders={"webhook": a_send})
    deliver(db, now=clock(), clock=clock, config=config, worker_id="B", senders={"webhook": b_send})
    assert len(seen) == 6 and max(seen.values()) == 1, seen
    assert _statuses(db) == Counter({"sent": 6})


def test_the_heartbeat_keeps_a_send_longer_than_the_lease(db: Database) -> None:
    """One send lasts three leases; B looks in after each; A's heartbeat keeps it A's."""
    _setup(db, 1)
    clock = Clock(T0)
    config = WorkerConfig(lease_seconds=LEASE, send_threads=1)
    seen: list[str] = []

    def lease_until() -> dt.datetime | None:
        with db.unit() as s:
            return s.scalars(select(Delivery.lease_until)).one()

    def b_send(delivery: Delivery, _config: WorkerConfig) -> None:
        seen.append("B")

    def a_send(delivery: Delivery, _config: WorkerConfig) -> None:
        seen.append("A")
        for _ in range(3):
            clock.advance(LEASE * 3 / 4)
            # Wait (bounded) for a heartbeat to renew the lease from the new time.
            renewed = threading.Event()
            for _ in range(500):
                until = lease_until()
                if until is not None and until > clock():
                    renewed.set()
                    break
                renewed.wait(0.01)
            assert renewed.is_set(), "the lease was not renewed while sending"
            deliver(db, now=clock(), clock=clock, config=config, worker_id="B", senders={"webhook": b_send})

    deliver(
        db,
        now=T0,
        clock=clock,
        config=config,
        worker_id="A",
        senders={"webhook": a_send},
        heartbeat_seconds=0.01,
    )
    assert seen == ["A"]
    assert _statuses(db) == Counter({"sent": 1})


def test_a_taken_over_worker_neither_sends_nor_records(db: Database) -> None:
    _setup(db, 1)
    config = WorkerConfig(lease_seconds=LEASE)
    with db.unit() as s:
        (stale,) = outbox.claim(s, worker_id="A", now=T0, config=config, viewer=SYSTEM)
    later = T0 + dt.timedelta(seconds=LEASE + 1)
    with db.unit() as s:
        (fresh,) = outbox.claim(s, worker_id="A", now=later, config=config, viewer=SYSTEM)
    assert stale.token != fresh.token  # even the same worker's old claim is fenced off
    with db.unit() as s:
        assert outbox.begin_attempt(s, stale, now=later, config=config, viewer=SYSTEM) is None
        assert not outbox.mark_sent(s, stale, now=later, viewer=SYSTEM)
        assert outbox.mark_failed(s, stale, now=later, error="x", config=config, viewer=SYSTEM) is None
        assert outbox.begin_attempt(s, fresh, now=later, config=config, viewer=SYSTEM) is not None
        assert outbox.mark_sent(s, fresh, now=later, viewer=SYSTEM)


def test_a_crash_loop_before_sending_burns_no_attempts(db: Database) -> None:
    """Claimed, then the worker dies before the send starts — five times over two allowed
    attempts: the delivery is still sent, not dead."""
    _setup(db, 1)
    config = WorkerConfig(lease_seconds=LEASE, max_attempts=2)
    now = T0
    for _ in range(5):
        with db.unit() as s:
            assert outbox.claim(s, worker_id="crashy", now=now, config=config, viewer=SYSTEM)
        now += dt.timedelta(seconds=LEASE + 1)
    seen: list[str] = []
    report = deliver(
        db, now=now, config=config, worker_id="w", senders={"webhook": lambda d, c: seen.append(d.target)}
    )
    assert (report.sent, report.dead) == (1, 0)
    with db.unit() as s:
        assert s.scalars(select(Delivery.attempts)).one() == 1


def test_every_retry_goes_to_the_current_target(db: Database) -> None:
    _setup(db, 1, url="http://127.0.0.1:9/old")
    config = WorkerConfig(max_attempts=1)
    targets: list[str] = []

    def refuse(delivery: Delivery, _config: WorkerConfig) -> None:
        targets.append(delivery.target)
        raise OSError("connection refused")

    assert deliver(db, now=T0, config=config, worker_id="w", senders={"webhook": refuse}).dead == 1
    with db.unit() as s:  # the person corrects the URL; the operator retries the dead one
        outbox.set_preferences(
            s, "ana", webhook_url="http://127.0.0.1:9/new", allow_hosts=["127.0.0.1"], viewer=SYSTEM
        )
        (dead,) = outbox.dead_letters(s, viewer=SYSTEM)
        assert outbox.retry_dead(s, dead.id, now=T0, viewer=SYSTEM).target == "http://127.0.0.1:9/new"
    with db.unit() as s:  # and a pending retry reads the address again at its attempt
        outbox.set_preferences(
            s, "ana", webhook_url="http://127.0.0.1:9/newer", allow_hosts=["127.0.0.1"], viewer=SYSTEM
        )

    def record(delivery: Delivery, _config: WorkerConfig) -> None:
        targets.append(delivery.target)

    assert deliver(db, now=T0, config=config, worker_id="w", senders={"webhook": record}).sent == 1
    assert targets == ["http://127.0.0.1:9/old", "http://127.0.0.1:9/newer"]


def test_recording_a_send_rides_out_a_short_database_outage(db: Database) -> None:
    """The database drops right after a successful send (the first two statements that would
    record it fail): the outcome is still recorded, and nothing is sent again later."""
    _setup(db, 1)
    config = WorkerConfig(lease_seconds=LEASE)
    failures = {"left": 0}

    def cut(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if failures["left"] and statement.lstrip().upper().startswith("UPDATE NOTIFICATION_DELIVERIES"):
            failures["left"] -= 1
            raise OperationalError(statement, {}, Exception("server closed the connection unexpectedly"))

    def drop_database(_delivery: Delivery) -> None:
        failures["left"] = 2

    sends: list[str] = []
    event.listen(db.engine, "before_cursor_execute", cut)
    try:
        report = deliver(
            db,
            now=T0,
            config=config,
            worker_id="w",
            senders={"webhook": lambda d, c: sends.append(d.idempotency_key)},
            after_send=drop_database,
        )
    finally:
        event.remove(db.engine, "before_cursor_execute", cut)
    assert failures["left"] == 0 and report.sent == 1
    assert _statuses(db) == Counter({"sent": 1})
    later = deliver(
        db,
        now=T0 + dt.timedelta(seconds=LEASE + 1),
        config=config,
        worker_id="w2",
        senders={"webhook": lambda d, c: sends.append(d.idempotency_key)},
    )
    assert later.sent == 0 and sends == ["k:0#webhook"]


def _wait_until_pending(db: Database, key: str) -> None:
    """Until the delivery of ``key`` is back to ``pending`` (bounded: a test must end)."""
    step = threading.Event()
    for _ in range(1000):
        with db.unit() as s:
            status = s.scalar(select(Delivery.status).where(Delivery.notification.has(dedupe_key=key)))
        if status == "pending":
            return
        step.wait(0.01)
    raise AssertionError(f"{key} never went back to pending")


def _two_receivers(db: Database) -> None:
    """Ana (k:0) and Bo (slow) each have one delivery, to two different receivers."""
    _setup(db, 1)
    with db.unit() as s:
        bo = add_person(s, name="Bo", handle="bo", viewer=SYSTEM)
        outbox.set_preferences(
            s,
            "bo",
            channels=["webhook"],
            webhook_url="http://127.0.0.1:9/b",
            allow_hosts=["127.0.0.1"],
            viewer=SYSTEM,
        )
        outbox.enqueue(
            s,
            person_id=bo.id,
            kind="t",
            subject="slow",
            body_text="b",
            dedupe_key="slow",
            now=T0,
            viewer=SYSTEM,
        )


def test_one_hanging_receiver_does_not_hold_the_others(db: Database) -> None:
    """Two senders: while a send to a hanging receiver is in flight, the other delivery still
    goes out (sends were one after another, so it waited behind the hang)."""
    _two_receivers(db)
    other_sent = threading.Event()

    def send(delivery: Delivery, _config: WorkerConfig) -> None:
        if delivery.idempotency_key == "k:0#webhook":
            if not other_sent.wait(10):  # hangs until the other one has gone out
                raise OSError("the other delivery waited behind this one")
        else:
            other_sent.set()

    report = deliver(
        db, now=T0, config=WorkerConfig(send_threads=2), worker_id="w", senders={"webhook": send}
    )
    assert report.sent == 2 and report.retried == 0


def test_a_retry_falling_due_during_a_pass_is_sent_in_it(db: Database) -> None:
    """k:0 fails and is due again 60 s later; the slow send is still running then: the same
    pass sends k:0's retry."""
    _two_receivers(db)
    clock = Clock(T0)
    attempts: Counter[str] = Counter()
    retried = threading.Event()

    def send(delivery: Delivery, _config: WorkerConfig) -> None:
        key = delivery.idempotency_key
        attempts[key] += 1
        if key == "k:0#webhook":
            if attempts[key] == 1:
                raise OSError("refused")
            retried.set()
        elif not retried.is_set():
            _wait_until_pending(db, "k:0")  # k:0's failure is recorded (its retry time set) …
            clock.advance(61)  # … the slow send outlasts k:0's backoff …
            retried.wait(10)  # … and ends once the retry went out

    config = WorkerConfig(send_threads=2, retry_base_seconds=60)
    report = deliver(db, now=T0, clock=clock, config=config, worker_id="w", senders={"webhook": send})
    assert attempts == Counter({"k:0#webhook": 2, "slow#webhook": 1})
    assert (report.sent, report.retried) == (2, 1)
