"""Send-time text: what a notification says is built when it is sent or shown, relative to that
moment, and a prompt for a step already done is not sent (it ends ``obsolete``, recorded)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import select

from lessonloop.access.viewer import viewer_for
from lessonloop.actions.service import add_action, complete_action
from lessonloop.experiments.service import add_experiment, record_observation
from lessonloop.notifications import service as outbox
from lessonloop.notifications.config import WorkerConfig
from lessonloop.notifications.models import Delivery, DeliveryStatus, Notification
from lessonloop.notifications.service import enqueue, set_preferences
from lessonloop.relative_time import relative_day
from lessonloop.store.engine import Database
from lessonloop.worker import checks
from lessonloop.worker.models import ReflectionSession, ReflectionStatus
from lessonloop.worker.reflections import propose_session
from lessonloop.worker.runner import deliver, run_once
from tests.factories import SYSTEM, failure, team_with_people

TODAY = dt.datetime.now(dt.UTC).date()
T0 = dt.datetime.combine(TODAY, dt.time(9), tzinfo=dt.UTC)
CONFIG = WorkerConfig(reminder_days=(3,), overdue_repeat_days=7)


@pytest.mark.parametrize(
    ("offset", "said"),
    [(0, "today"), (1, "tomorrow"), (3, "in 3 days"), (-1, "yesterday"), (-8, "8 days ago")],
)
def test_relative_day(offset: int, said: str) -> None:
    now = dt.datetime(2026, 5, 4, 23, 30, tzinfo=dt.UTC)
    assert relative_day(now.date() + dt.timedelta(days=offset), now=now) == said


# -- helpers --------------------------------------------------------------------------------------


def _setup(db: Database, *, due_in: int = 3, review_in: int = 10) -> int:
    """Ben owns an action due in ``due_in`` days and receives e-mail; returns the action's id."""
    with db.unit() as s:
        team_with_people(s)
        set_preferences(s, "ben", channels=["email"], email="ben@example.com", viewer=SYSTEM)
        f = failure(s, team="Payments")
        return add_action(
            s,
            failure_id=f.id,
            title="Dated dependency check",
            owner="ben",
            due_date=TODAY + dt.timedelta(days=due_in),
            review_date=TODAY + dt.timedelta(days=review_in),
            viewer=SYSTEM,
        ).id


def _enqueue(db: Database, kind: str, record_id: int | None, *, person: str = "ben") -> int:
    with db.unit() as s:
        from lessonloop.people.service import get_person

        n = enqueue(
            s,
            person_id=get_person(s, person, viewer=SYSTEM).id,
            kind=kind,
            subject="stored subject",
            body_text="stored body",
            dedupe_key=f"test:{kind}:{record_id}",
            record_id=record_id,
            now=T0,
            viewer=SYSTEM,
        )
        assert n is not None
        return n.id


Sent = list[tuple[str, str]]


def _deliver(db: Database, now: dt.datetime) -> Sent:
    sent: Sent = []

    def capture(delivery: Delivery, config: WorkerConfig) -> None:
        sent.append((delivery.notification.subject, delivery.notification.body_text))

    deliver(db, now=now, config=CONFIG, worker_id="test", senders={"email": capture})
    return sent


def _state(db: Database, nid: int) -> tuple[str | None, list[str], list[str]]:
    """(obsolete reason, delivery statuses, their last errors)."""
    with db.unit() as s:
        n = s.get(Notification, nid)
        assert n is not None
        reason = n.obsolete_reason if n.obsolete_at is not None else None
        return reason, [d.status for d in n.deliveries], [d.last_error for d in n.deliveries]


# -- the text is that of the moment it is sent ----------------------------------------------------


def test_a_reminder_sent_late_says_the_date_relative_to_when_it_is_sent(db: Database) -> None:
    aid = _setup(db, due_in=3)
    run_once(db, now=T0, config=CONFIG, only_jobs={"action-reminders"}, senders={"email": lambda d, c: None})
    with db.unit() as s:  # the pass sent it at once; make it go again five days later
        [d] = s.scalars(select(Delivery))
        d.status, d.next_attempt_at = DeliveryStatus.pending.value, T0
        assert d.notification.record_id == aid
    [(subject, body)] = _deliver(db, T0 + dt.timedelta(days=5))
    assert subject == f"Action #{aid} is overdue by 2 days: Dated dependency check"
    assert "(2 days ago), review date" in body and "(in 5 days)" in body


def test_the_in_app_list_shows_the_text_as_of_now(db: Database) -> None:
    aid = _setup(db, due_in=3)
    nid = _enqueue(db, "reminder", aid)
    with db.unit() as s:
        ben = viewer_for(s, s.scalars(select(Notification.person_id)).one())
        [shown] = outbox.current_for_person(s, ben.person_id, now=T0 + dt.timedelta(days=2), viewer=ben)
    assert shown.notification.id == nid and shown.obsolete is None
    assert shown.subject == f"Action #{aid} is due tomorrow: Dated dependency check"


def test_an_unknown_kind_keeps_its_stored_text(db: Database) -> None:
    _setup(db)
    _enqueue(db, "announcement", 42)  # no renderer knows it (a "mention" has one: decision 49)
    assert _deliver(db, T0 + dt.timedelta(days=1)) == [("stored subject", "stored body")]


# -- a prompt for a step already done is not sent -------------------------------------------------


def _complete(db: Database, aid: int) -> None:
    with db.unit() as s:
        complete_action(s, aid, evidence="shipped", viewer=SYSTEM)


def _answer(db: Database, aid: int) -> None:
    with db.unit() as s:
        checks.record_check(s, aid, worked="yes", note="", now=T0, viewer=SYSTEM)


@pytest.mark.parametrize(
    ("kind", "done", "reason"),
    [
        ("reminder", _complete, "was completed"),
        ("review-check", _answer, "was answered (yes)"),
    ],
)
def test_an_action_prompt_for_a_step_done_after_enqueueing_is_obsolete(
    db: Database, kind: str, done: Callable[[Database, int], None], reason: str
) -> None:
    aid = _setup(db)
    nid = _enqueue(db, kind, aid)
    done(db, aid)
    assert _deliver(db, T0 + dt.timedelta(hours=1)) == []
    why, statuses, errors = _state(db, nid)
    assert why is not None and reason in why
    assert statuses == ["obsolete"] and errors[0].startswith("not sent: ")
    with db.unit() as s:  # recorded, not deleted; not unread any more; not claimed again
        assert s.get(Notification, nid) is not None
        assert outbox.unread_count(s, s.get(Notification, nid).person_id, viewer=SYSTEM) == 0  # type: ignore[union-attr]
    assert _deliver(db, T0 + dt.timedelta(days=1)) == []


def test_an_experiment_end_prompt_is_obsolete_once_something_is_observed(db: Database) -> None:
    aid = _setup(db)
    with db.unit() as s:
        exp = add_experiment(
            s,
            action_id=aid,
            hypothesis="Dated checks cut slips",
            metric="slips",
            comparator="<=",
            threshold=1,
            start_date=TODAY.isoformat(),
            end_date=TODAY.isoformat(),
            viewer=SYSTEM,
        ).id
    nid = _enqueue(db, "experiment-end", exp)
    with db.unit() as s:
        record_observation(s, exp, value=0, viewer=SYSTEM)
    assert _deliver(db, T0 + dt.timedelta(hours=1)) == []
    why, statuses, _ = _state(db, nid)
    assert why is not None and "after it ended" in why and statuses == ["obsolete"]


def test_a_reflection_prompt_is_obsolete_once_held_and_says_its_date_until_then(db: Database) -> None:
    _setup(db)
    with db.unit() as s:
        f = failure(s, team="Payments", title="Checkout down", severity="high")
        rid = propose_session(s, f, when=TODAY + dt.timedelta(days=4), viewer=SYSTEM).id
        set_preferences(s, "ana", channels=["email"], viewer=SYSTEM)
    nid = _enqueue(db, "reflection", rid, person="ana")
    with db.unit() as s:
        ana = viewer_for(s, s.get(Notification, nid).person_id)  # type: ignore[union-attr]
        [shown] = outbox.current_for_person(s, ana.person_id, now=T0 + dt.timedelta(days=1), viewer=ana)
        assert "(in 3 days)" in shown.subject
        row = s.get(ReflectionSession, rid)
        assert row is not None
        row.status, row.held_at = ReflectionStatus.held.value, T0
    assert _deliver(db, T0 + dt.timedelta(days=1)) == []
    why, statuses, _ = _state(db, nid)
    assert why is not None and "was held on" in why and statuses == ["obsolete"]


def test_a_reminder_is_obsolete_when_the_owner_may_no_longer_see_the_failure(db: Database) -> None:
    aid = _setup(db)
    nid = _enqueue(db, "reminder", aid)
    with db.unit() as s:
        from lessonloop.actions.models import Action
        from lessonloop.failures.models import Failure

        action = s.get(Action, aid)
        assert action is not None
        f = s.get(Failure, action.failure_id)
        assert f is not None
        f.visibility = "private"  # ben is only a member of the team: a private failure is hidden
    assert _deliver(db, T0 + dt.timedelta(hours=1)) == []
    why, _, _ = _state(db, nid)
    assert why == "it is about something you may no longer see"
