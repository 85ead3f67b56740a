from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from lessonloop.actions.service import (
    add_action,
    answer_not_yet,
    complete_action,
    drop_action,
    list_actions,
    overdue_by_owner,
    reschedule_action,
)
from lessonloop.errors import Conflict, Invalid, NotFound
from tests.factories import SYSTEM, failure, team_with_people

TODAY = dt.date(2026, 11, 30)


def test_action_needs_owner_and_due_date(session: Session) -> None:
    f = failure(session)
    with pytest.raises(Invalid) as err:
        add_action(
            session,
            failure_id=f.id,
            title="Write runbook",
            owner=None,
            due_date="2026-12-01",
            backfill=True,
            viewer=SYSTEM,
        )
    assert err.value.field == "owner"
    team_with_people(session)
    with pytest.raises(Invalid) as err:
        add_action(
            session,
            failure_id=f.id,
            title="Write runbook",
            owner="ben",
            due_date="next week",
            backfill=True,
            viewer=SYSTEM,
        )
    assert err.value.field == "due_date"
    with pytest.raises(NotFound):
        add_action(
            session,
            failure_id=999,
            title="x",
            owner="ben",
            due_date="2026-12-01",
            backfill=True,
            viewer=SYSTEM,
        )


def test_review_date_defaults_and_must_follow_due(session: Session) -> None:
    team_with_people(session)
    f = failure(session)
    a = add_action(
        session,
        failure_id=f.id,
        title="Write runbook",
        owner="ben",
        due_date="2026-12-01",
        backfill=True,
        viewer=SYSTEM,
    )
    assert a.review_date == dt.date(2026, 12, 15)
    with pytest.raises(Invalid) as err:
        add_action(
            session,
            failure_id=f.id,
            title="x",
            owner="ben",
            due_date="2026-12-05",
            review_date="2026-12-01",
            backfill=True,
            viewer=SYSTEM,
        )
    assert err.value.field == "review_date"


def test_reschedule_and_not_yet_keep_to_open_actions_and_the_future(session: Session) -> None:
    team_with_people(session)
    f = failure(session)
    today = dt.datetime.now(dt.UTC).date()
    a = add_action(
        session,
        failure_id=f.id,
        title="Write runbook",
        owner="ben",
        due_date=today - dt.timedelta(days=3),
        backfill=True,
        viewer=SYSTEM,
    )
    with pytest.raises(Invalid) as err:  # a snooze or reschedule into the past plans nothing
        reschedule_action(session, a.id, due_date=today - dt.timedelta(days=1), viewer=SYSTEM)
    assert err.value.field == "due_date" and "in the past" in err.value.message
    assert a.due_date == today - dt.timedelta(days=3)
    # An overdue action keeps its date when only the review date moves; today is not past.
    reschedule_action(
        session, a.id, due_date=a.due_date, review_date=today + dt.timedelta(days=1), viewer=SYSTEM
    )
    assert reschedule_action(session, a.id, due_date=today, viewer=SYSTEM).due_date == today
    assert answer_not_yet(session, a.id, viewer=SYSTEM).due_date == today  # changes nothing
    complete_action(session, a.id, evidence="runbook.md merged", viewer=SYSTEM)
    with pytest.raises(Conflict):
        answer_not_yet(session, a.id, viewer=SYSTEM)


def test_done_needs_evidence_and_dropped_needs_reason(session: Session) -> None:
    team_with_people(session)
    f = failure(session)
    a = add_action(
        session,
        failure_id=f.id,
        title="Write runbook",
        owner="ben",
        due_date="2026-12-01",
        backfill=True,
        viewer=SYSTEM,
    )
    with pytest.raises(Invalid) as err:
        complete_action(session, a.id, evidence="", viewer=SYSTEM)
    assert err.value.field == "evidence"
    complete_action(session, a.id, evidence="runbook.md merged", viewer=SYSTEM)
    assert a.status == "done" and a.closed_at is not None
    with pytest.raises(Conflict):
        drop_action(session, a.id, reason="too late", viewer=SYSTEM)
    with pytest.raises(Conflict):
        reschedule_action(session, a.id, due_date="2027-01-01", viewer=SYSTEM)


def test_overdue_grouped_by_owner(session: Session) -> None:
    ctx = team_with_people(session)
    f = failure(session, team="Payments")
    add_action(
        session, failure_id=f.id, title="a1", owner="ben", due_date="2026-11-01", backfill=True, viewer=SYSTEM
    )
    add_action(
        session, failure_id=f.id, title="a2", owner="ben", due_date="2026-11-20", backfill=True, viewer=SYSTEM
    )
    add_action(
        session, failure_id=f.id, title="a3", owner="ana", due_date="2026-11-25", backfill=True, viewer=SYSTEM
    )
    add_action(
        session,
        failure_id=f.id,
        title="future",
        owner="ana",
        due_date="2026-12-25",
        backfill=True,
        viewer=SYSTEM,
    )
    done = add_action(
        session,
        failure_id=f.id,
        title="done",
        owner="ana",
        due_date="2026-10-01",
        backfill=True,
        viewer=SYSTEM,
    )
    complete_action(session, done.id, evidence="ok", viewer=SYSTEM)
    groups = overdue_by_owner(session, today=TODAY, viewer=SYSTEM)
    assert [(p.handle, [a.title for a in acts]) for p, acts in groups] == [
        ("ben", ["a1", "a2"]),
        ("ana", ["a3"]),
    ]
    assert overdue_by_owner(session, today=TODAY, team=ctx["team"].id, viewer=SYSTEM)[0][0].handle == "ben"
    assert list_actions(session, owner="ana", overdue=True, today=TODAY, viewer=SYSTEM).total == 1
    assert list_actions(session, status="done", viewer=SYSTEM).total == 1
