"""Outgoing event webhooks: enqueued with the change, signed, retried from the outbox, and only
what the endpoint's scope may see. The receiver is a real HTTP server on 127.0.0.1 that checks
the signature with the endpoint's secret."""

from __future__ import annotations

import datetime as dt
import json
from types import MappingProxyType

import pytest
from sqlalchemy import func, select

from lessonloop.access.viewer import Viewer
from lessonloop.actions.models import Action
from lessonloop.actions.service import complete_action
from lessonloop.errors import Invalid, NotFound, PermissionDenied
from lessonloop.failures.models import Failure
from lessonloop.integrations.webhooks import service as hooks
from lessonloop.integrations.webhooks import signing
from lessonloop.lessons.service import create_lesson
from lessonloop.notifications.config import WorkerConfig
from lessonloop.notifications.models import Delivery, Notification
from lessonloop.people.service import add_team
from lessonloop.store.base import utcnow
from lessonloop.store.engine import Database
from lessonloop.worker.runner import deliver
from tests.factories import SYSTEM, failure, reviewed, team_with_people
from tests.integrations.webhooks.receiver import receiver


def _soon() -> dt.datetime:
    """A moment after now: events are queued at the real time of the change."""
    return utcnow() + dt.timedelta(seconds=1)


LOCAL = ("127.0.0.1",)
CONFIG = WorkerConfig(webhook_allow_hosts=LOCAL, retry_base_seconds=30, max_attempts=5)


def _endpoint(
    db: Database, url: str, *, team: str | None = None, events: tuple[str, ...] = ()
) -> tuple[int, str]:
    with db.unit() as s:
        made = hooks.add_endpoint(
            s,
            url=url,
            events=events or ("failure.logged", "review.completed", "action.done", "lesson.published"),
            team=team,
            allow_hosts=LOCAL,
            viewer=SYSTEM,
        )
        return made.endpoint.id, made.secret


def _event_count(db: Database) -> int:
    with db.unit() as s:
        return int(s.scalar(select(func.count(Notification.id)).where(Notification.person_id.is_(None))) or 0)


def test_a_logged_failure_reaches_an_org_endpoint_signed(db: Database) -> None:
    with receiver() as hook:
        _, secret = _endpoint(db, hook.url)
        with db.unit() as s:
            team_with_people(s)
            logged = failure(s, team="Payments", visibility="org")
            failure_id = logged.id
        t0 = _soon()
        report = deliver(db, now=t0, config=CONFIG, worker_id="w")
        assert report.sent == 1, report
    (got,) = hook.accepted
    assert hook.verified(secret, got)
    assert not hook.verified("whsec_wrong", got)
    assert got.headers["X-Lessonloop-Timestamp"] == str(int(t0.timestamp()))
    assert got.headers["X-Lessonloop-Event"] == "failure.logged"
    body = got.json
    assert body["type"] == "failure.logged" and body["id"] == got.headers["X-Lessonloop-Event-Id"]
    assert body["record"]["type"] == "failure" and body["record"]["id"] == failure_id
    assert body["record"]["title"] == "Checkout release missed the launch date"
    # What a receiver does: the shipped helper agrees, and an old timestamp is refused.
    ts, sig = got.headers["X-Lessonloop-Timestamp"], got.headers["X-Lessonloop-Signature"]
    assert signing.verify(secret, ts, sig, got.body, now=t0.timestamp() + 10)
    assert not signing.verify(secret, ts, sig, got.body, now=t0.timestamp() + 3600)
    assert not signing.verify(secret, ts, sig, got.body + b" ", now=t0.timestamp())


def test_a_receiver_failing_twice_gets_exactly_one_accepted_delivery(sqlite_db: Database) -> None:
    with receiver() as hook:
        hook.fail_first = 2
        _, secret = _endpoint(sqlite_db, hook.url)
        with sqlite_db.unit() as s:
            failure(s, visibility="org")
        now = _soon()
        for _ in range(5):  # more passes than needed: the sent one is not sent again
            deliver(sqlite_db, now=now, config=CONFIG, worker_id="w")
            now += dt.timedelta(minutes=10)
    assert len(hook.requests) == 3 and len(hook.accepted) == 1
    ids = {r.headers["X-Lessonloop-Event-Id"] for r in hook.requests}
    assert len(ids) == 1  # the same event each time: a receiver dedupes on it
    stamps = [r.headers["X-Lessonloop-Timestamp"] for r in hook.requests]
    assert len(set(stamps)) == 3  # each attempt signed with its own time
    assert all(hook.verified(secret, r) for r in hook.requests)
    with sqlite_db.unit() as s:
        (row,) = s.scalars(select(Delivery).where(Delivery.channel == "event-webhook"))
        assert (row.status, row.attempts) == ("sent", 3)


def test_a_private_failure_sends_nothing_to_team_or_org_endpoints(db: Database) -> None:
    with db.unit() as s:
        team_with_people(s)
    _endpoint(db, "http://127.0.0.1:9/org")
    _endpoint(db, "http://127.0.0.1:9/team", team="Payments")
    with db.unit() as s:
        private = failure(s, team="Payments", visibility="private", reporter="ben")
        reviewed(s, private)  # its review and action events are private too
    assert _event_count(db) == 0


def test_a_team_failure_goes_to_its_team_endpoint_only(db: Database) -> None:
    with db.unit() as s:
        team_with_people(s)
        add_team(s, name="Growth", viewer=SYSTEM)
    org_id, _ = _endpoint(db, "http://127.0.0.1:9/org")
    payments_id, _ = _endpoint(db, "http://127.0.0.1:9/payments", team="Payments")
    growth_id, _ = _endpoint(db, "http://127.0.0.1:9/growth", team="Growth")
    with db.unit() as s:
        failure(s, team="Payments", visibility="team")
    with db.unit() as s:
        got = {n.record_id for n in s.scalars(select(Notification).where(Notification.person_id.is_(None)))}
    assert got == {payments_id}
    assert org_id not in got and growth_id not in got


def test_each_event_kind_is_enqueued_once(sqlite_db: Database) -> None:
    with sqlite_db.unit() as s:
        team_with_people(s)
    _endpoint(sqlite_db, "http://127.0.0.1:9/org")
    with sqlite_db.unit() as s:
        logged = failure(s, team="Payments", visibility="org")
        reviewed(s, logged)
        action_id = s.scalars(select(Action.id).where(Action.failure_id == logged.id)).one()
    with sqlite_db.unit() as s:
        complete_action(s, action_id, evidence="Checklist merged", viewer=SYSTEM)
    with sqlite_db.unit() as s:
        create_lesson(
            s,
            title="Ask for dates",
            learned="Verbal dates slip",
            failures=[logged.id],
            publish=True,
            viewer=SYSTEM,
        )
    with sqlite_db.unit() as s:
        subjects = sorted(s.scalars(select(Notification.subject).where(Notification.person_id.is_(None))))
    assert subjects == ["action.done", "failure.logged", "lesson.published", "review.completed"]


def test_a_rolled_back_change_enqueues_nothing(sqlite_db: Database) -> None:
    _endpoint(sqlite_db, "http://127.0.0.1:9/org")
    with pytest.raises(RuntimeError), sqlite_db.unit() as s:
        failure(s, visibility="org")
        raise RuntimeError("the request failed after the insert")
    assert _event_count(sqlite_db) == 0


def test_a_failure_made_private_before_sending_is_not_sent(sqlite_db: Database) -> None:
    with receiver() as hook:
        _endpoint(sqlite_db, hook.url)
        with sqlite_db.unit() as s:
            logged = failure(s, visibility="org")
        with sqlite_db.unit() as s:
            row = s.get(Failure, logged.id)
            assert row is not None
            row.visibility = "private"
        report = deliver(sqlite_db, now=_soon(), config=CONFIG, worker_id="w")
    assert report.sent == 0 and hook.requests == []
    with sqlite_db.unit() as s:
        (row2,) = s.scalars(select(Delivery).where(Delivery.channel == "event-webhook"))
        assert row2.status == "dead" and "not sent" in row2.last_error


def test_a_disabled_endpoint_gets_nothing_more(sqlite_db: Database) -> None:
    with receiver() as hook:
        endpoint_id, _ = _endpoint(sqlite_db, hook.url)
        with sqlite_db.unit() as s:
            failure(s, visibility="org")
            hooks.set_active(s, endpoint_id, False, viewer=SYSTEM)
        with sqlite_db.unit() as s:
            failure(s, title="After disabling", visibility="org")
        deliver(sqlite_db, now=_soon(), config=CONFIG, worker_id="w")
        assert hook.requests == []
    with sqlite_db.unit() as s:
        (row,) = hooks.recent_deliveries(s, endpoint_id, viewer=SYSTEM)  # the one queued before
        assert row.status == "dead"


def test_an_inside_address_is_refused_at_send_time(sqlite_db: Database) -> None:
    with receiver() as hook:
        endpoint_id, _ = _endpoint(sqlite_db, hook.url)  # saved while 127.0.0.1 was allowed
        with sqlite_db.unit() as s:
            failure(s, visibility="org")
        deliver(sqlite_db, now=_soon(), config=WorkerConfig(max_attempts=1), worker_id="w")
        assert hook.requests == []
    with sqlite_db.unit() as s:
        (row,) = hooks.recent_deliveries(s, endpoint_id, viewer=SYSTEM)
        assert row.status == "dead" and "target not allowed" in row.last_error


def test_who_may_manage_endpoints(sqlite_db: Database) -> None:
    with sqlite_db.unit() as s:
        people = team_with_people(s)
        team_id = people["team"].id
        lead = Viewer(person_id=people["ana"].id, roles=MappingProxyType({team_id: "lead"}))
        member = Viewer(person_id=people["ben"].id, roles=MappingProxyType({team_id: "member"}))
        admin = Viewer(person_id=people["ben"].id, is_admin=True)
    with sqlite_db.unit() as s, pytest.raises(PermissionDenied):
        hooks.add_endpoint(
            s, url="https://hooks.example.com/x", events=["failure.logged"], team="Payments", viewer=member
        )
    with sqlite_db.unit() as s, pytest.raises(PermissionDenied):
        hooks.add_endpoint(s, url="https://hooks.example.com/x", events=["failure.logged"], viewer=lead)
    with sqlite_db.unit() as s:
        team_hook = hooks.add_endpoint(
            s, url="https://hooks.example.com/t", events=["failure.logged"], team="Payments", viewer=lead
        ).endpoint.id
        org_hook = hooks.add_endpoint(
            s, url="https://hooks.example.com/o", events=["action.done"], viewer=admin
        )
        assert org_hook.secret.startswith("whsec_")
    with sqlite_db.unit() as s:
        assert [e.id for e in hooks.list_endpoints(s, viewer=lead)] == [team_hook]
        assert hooks.list_endpoints(s, viewer=member) == []
        assert len(hooks.list_endpoints(s, viewer=admin)) == 2
        with pytest.raises(NotFound):
            hooks.get_endpoint(s, org_hook.endpoint.id, viewer=lead)
        with pytest.raises(NotFound):
            hooks.recent_deliveries(s, team_hook, viewer=member)


def test_bad_endpoints_are_refused(sqlite_db: Database) -> None:
    with sqlite_db.unit() as s:
        with pytest.raises(Invalid, match="unknown event"):
            hooks.add_endpoint(
                s, url="https://hooks.example.com/x", events=["failure.deleted"], viewer=SYSTEM
            )
        with pytest.raises(Invalid, match="public address"):
            hooks.add_endpoint(
                s, url="http://169.254.169.254/x", events=["failure.logged"], allow_hosts=(), viewer=SYSTEM
            )
        with pytest.raises(Invalid, match="http"):
            hooks.add_endpoint(s, url="ftp://hooks.example.com/x", events=["failure.logged"], viewer=SYSTEM)


def test_the_payload_is_the_stored_json(sqlite_db: Database) -> None:
    _endpoint(sqlite_db, "http://127.0.0.1:9/org")
    with sqlite_db.unit() as s:
        failure(s, visibility="org")
    with sqlite_db.unit() as s:
        (note,) = s.scalars(select(Notification).where(Notification.person_id.is_(None)))
        assert json.loads(note.body_text)["record"]["path"].startswith("/failures/")
        assert note.dedupe_key.startswith("event:")
