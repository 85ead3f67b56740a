"""The outbox on both backends: one row per key, claims, leases, retries, dead letters."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from lessonloop.errors import Conflict, Invalid
from lessonloop.notifications import service as outbox
from lessonloop.notifications.config import WorkerConfig
from lessonloop.notifications.models import Delivery, Notification
from lessonloop.people.service import add_person
from lessonloop.store.engine import Database
from lessonloop.worker.runner import deliver
from tests.factories import SYSTEM

T0 = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)
# Sends go to 127.0.0.1:9 (nothing listens): allowed, so attempts fail as unreachable.
CONFIG = WorkerConfig(
    max_attempts=3, retry_base_seconds=60, lease_seconds=300, batch_size=2, webhook_allow_hosts=("127.0.0.1",)
)


def _setup(db: Database, *, webhook: bool = True) -> int:
    with db.unit() as s:
        ana = add_person(s, name="Ana", handle="ana", email="ana@example.com", viewer=SYSTEM)
        if webhook:
            outbox.set_preferences(
                s,
                "ana",
                channels=["webhook"],
                webhook_url="http://127.0.0.1:9/x",
                allow_hosts=["127.0.0.1"],
                viewer=SYSTEM,
            )
        return ana.id


def _enqueue(db: Database, person_id: int, key: str) -> Notification | None:
    with db.unit() as s:
        return outbox.enqueue(
            s,
            person_id=person_id,
            kind="test",
            subject=f"about {key}",
            body_text="body",
            dedupe_key=key,
            now=T0,
            viewer=SYSTEM,
        )


def test_enqueue_is_idempotent_on_the_key(db: Database) -> None:
    pid = _setup(db)
    assert _enqueue(db, pid, "k:1") is not None
    assert _enqueue(db, pid, "k:1") is None
    with db.unit() as s:
        assert s.scalar(select(func.count(Notification.id))) == 1
        assert s.scalar(select(func.count(Delivery.id))) == 1  # in-app is the row; one webhook
        listed = outbox.list_for_person(s, "ana", viewer=SYSTEM)
        assert [n.dedupe_key for n in listed] == ["k:1"]
        assert outbox.unread_count(s, pid, viewer=SYSTEM) == 1
        outbox.mark_read(s, listed[0].id, viewer=SYSTEM)
        assert outbox.unread_count(s, pid, viewer=SYSTEM) == 0


def test_enqueue_inside_a_failed_race_keeps_the_transaction(db: Database) -> None:
    """The savepoint: a duplicate insert does not poison the caller's unit of work."""
    pid = _setup(db, webhook=False)
    _enqueue(db, pid, "k:race")
    with db.unit() as s:
        # Pretend the existence check missed the row (another worker committed in between).
        n = Notification(person_id=pid, kind="t", dedupe_key="k:race", subject="s", body_text="b")
        try:
            with s.begin_nested():
                s.add(n)
                s.flush()
        except Exception:
            pass
        assert outbox.enqueue(
            s, person_id=pid, kind="t", subject="s", body_text="b", dedupe_key="k:other", viewer=SYSTEM
        )
    with db.unit() as s:
        assert s.scalar(select(func.count(Notification.id))) == 2


def test_preferences_need_addresses(db: Database) -> None:
    with db.unit() as s:
        add_person(s, name="Ben", handle="ben", viewer=SYSTEM)
    with db.unit() as s, pytest.raises(Invalid, match="webhook"):
        outbox.set_preferences(s, "ben", channels=["webhook"], viewer=SYSTEM)
    with db.unit() as s, pytest.raises(Invalid, match="e-mail"):
        outbox.set_preferences(s, "ben", channels=["email"], viewer=SYSTEM)
    with db.unit() as s:
        pref = outbox.set_preferences(s, "ben", channels=["email"], email="ben@example.com", viewer=SYSTEM)
        assert pref.channel_set == {"in-app", "email"}


def test_failures_back_off_then_die_visibly(db: Database) -> None:
    pid = _setup(db)
    _enqueue(db, pid, "k:fail")
    calls: list[str] = []

    def broken(delivery: Delivery, config: WorkerConfig) -> None:
        calls.append(delivery.idempotency_key)
        raise OSError("connection refused")

    senders = {"webhook": broken}
    now = T0
    report = deliver(db, now=now, config=CONFIG, worker_id="w1", senders=senders)
    assert (report.sent, report.retried, report.dead) == (0, 1, 0)
    with db.unit() as s:
        d = s.scalars(select(Delivery)).one()
        assert d.status == "pending" and d.attempts == 1
        assert d.next_attempt_at == now + dt.timedelta(seconds=60)
        assert "connection refused" in d.last_error
    # Not due yet: nothing happens.
    assert (
        deliver(
            db, now=now + dt.timedelta(seconds=59), config=CONFIG, worker_id="w1", senders=senders
        ).retried
        == 0
    )
    now += dt.timedelta(seconds=60)
    deliver(db, now=now, config=CONFIG, worker_id="w1", senders=senders)
    with db.unit() as s:
        d = s.scalars(select(Delivery)).one()
        assert d.attempts == 2 and d.next_attempt_at == now + dt.timedelta(seconds=120)
    now += dt.timedelta(seconds=120)
    report = deliver(db, now=now, config=CONFIG, worker_id="w1", senders=senders)
    assert report.dead == 1
    assert len(calls) == 3 and len(set(calls)) == 1  # one idempotency key for every attempt
    with db.unit() as s:
        dead = outbox.dead_letters(s, viewer=SYSTEM)
        assert [d.notification.dedupe_key for d in dead] == ["k:fail"]
        assert dead[0].attempts == 3
    # Dead stays dead (listed) until someone retries it.
    assert (
        deliver(db, now=now + dt.timedelta(days=1), config=CONFIG, worker_id="w1", senders=senders).dead == 0
    )
    with db.unit() as s:
        outbox.retry_dead(s, dead[0].id, now=now, viewer=SYSTEM)
        with pytest.raises(Conflict):
            outbox.retry_dead(s, dead[0].id, viewer=SYSTEM)
    report = deliver(db, now=now, config=CONFIG, worker_id="w1", senders={"webhook": lambda d, c: None})
    assert report.sent == 1


def test_a_lease_keeps_others_off_until_it_expires(db: Database) -> None:
    pid = _setup(db)
    for i in range(3):
        _enqueue(db, pid, f"k:{i}")
    with db.unit() as s:
        first = outbox.claim(s, worker_id="w1", now=T0, config=CONFIG, viewer=SYSTEM)
    assert len(first) == 2  # batch size
    with db.unit() as s:
        second = outbox.claim(s, worker_id="w2", now=T0, config=CONFIG, viewer=SYSTEM)
        assert {x.delivery_id for x in second}.isdisjoint(x.delivery_id for x in first) and len(second) == 1
    with db.unit() as s:
        assert (
            outbox.claim(s, worker_id="w3", now=T0 + dt.timedelta(seconds=299), config=CONFIG, viewer=SYSTEM)
            == []
        )
    later = T0 + dt.timedelta(seconds=301)
    with db.unit() as s:
        taken = outbox.claim(s, worker_id="w3", now=later, config=CONFIG, viewer=SYSTEM)
    assert {x.delivery_id for x in taken} == {x.delivery_id for x in first}
    with db.unit() as s:
        # The original holder lost its lease: its late "sent" is refused, w3's counts.
        assert not outbox.mark_sent(s, first[0], now=later, viewer=SYSTEM)
        assert outbox.mark_sent(s, taken[0], now=later, viewer=SYSTEM)


def test_a_crash_between_send_and_record_resends_with_the_same_key(db: Database) -> None:
    """At-least-once on the wire: the repeat carries the same key so the receiver can drop it."""
    pid = _setup(db)
    _enqueue(db, pid, "k:crash")
    seen: list[str] = []

    def record(delivery: Delivery, config: WorkerConfig) -> None:
        seen.append(delivery.idempotency_key)

    class Crash(BaseException):
        pass

    def crash(_delivery: Delivery) -> None:
        raise Crash

    with pytest.raises(Crash):
        deliver(db, now=T0, config=CONFIG, worker_id="w1", senders={"webhook": record}, after_send=crash)
    # Restarted before the lease ran out: nothing is sent twice.
    assert (
        deliver(
            db, now=T0 + dt.timedelta(seconds=10), config=CONFIG, worker_id="w2", senders={"webhook": record}
        ).sent
        == 0
    )
    report = deliver(
        db, now=T0 + dt.timedelta(seconds=301), config=CONFIG, worker_id="w2", senders={"webhook": record}
    )
    assert report.sent == 1
    assert seen == ["k:crash#webhook", "k:crash#webhook"]
    with db.unit() as s:
        assert s.scalars(select(Delivery.status)).all() == ["sent"]


def test_the_last_attempt_dying_with_its_worker_is_buried_not_lost(db: Database) -> None:
    pid = _setup(db)
    _enqueue(db, pid, "k:last")
    config = WorkerConfig(max_attempts=1, lease_seconds=60)
    with db.unit() as s:
        (lease,) = outbox.claim(s, worker_id="w1", now=T0, config=config, viewer=SYSTEM)
    with db.unit() as s:  # the send starts (the attempt counts), then the worker dies
        assert outbox.begin_attempt(s, lease, now=T0, config=config, viewer=SYSTEM) is not None
    report = deliver(db, now=T0 + dt.timedelta(seconds=61), config=config, worker_id="w2", senders={})
    assert report.dead == 1
    with db.unit() as s:
        (dead,) = outbox.dead_letters(s, viewer=SYSTEM)
        assert "delivery unknown" in dead.last_error


def test_postgres_claims_skip_locked_rows(db: Database) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED is the PostgreSQL path")
    pid = _setup(db)
    for i in range(4):
        _enqueue(db, pid, f"k:{i}")
    # Two workers in open transactions at the same time get disjoint batches, without waiting.
    with db.unit() as s1, db.unit() as s2:
        a = outbox.claim(s1, worker_id="w1", now=T0, config=CONFIG, viewer=SYSTEM)
        b = outbox.claim(s2, worker_id="w2", now=T0, config=CONFIG, viewer=SYSTEM)
        assert len(a) == 2 and len(b) == 2 and set(a).isdisjoint(b)
