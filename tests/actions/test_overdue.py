"""One definition of "overdue": open, and due *before* today. The action list, the board's model,
the API's answer and the weekly digest agree on the boundary (due today is not late yet)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from lessonloop.actions.models import Action, days_overdue, is_overdue
from lessonloop.actions.schemas import ActionOut
from lessonloop.actions.service import add_action, complete_action, list_actions
from lessonloop.followthrough.digests import collect
from lessonloop.people.service import get_team
from tests.factories import SYSTEM, failure, reviewed, team_with_people


def test_the_rule_itself() -> None:
    today = dt.date(2026, 12, 5)
    assert not is_overdue("open", today, today)
    assert is_overdue("open", today - dt.timedelta(days=1), today)
    assert not is_overdue("done", today - dt.timedelta(days=9), today)
    assert not is_overdue("dropped", today - dt.timedelta(days=9), today)
    assert days_overdue(today - dt.timedelta(days=1), today) == 1


def test_every_reader_agrees_on_the_boundary(session: Session) -> None:
    team_with_people(session)
    today = dt.date.today()
    logged = failure(session, team="Payments")
    review = reviewed(session, logged)
    due = {}
    for label, days in (("yesterday", -1), ("today", 0), ("tomorrow", 1)):
        action = add_action(
            session,
            failure_id=logged.id,
            review_id=review.id,
            title=f"Check the vendor date with a written confirmation ({label})",
            owner="ben",
            due_date=(today + dt.timedelta(days=days)).isoformat(),
            backfill=True,
            viewer=SYSTEM,
        )
        due[label] = action
    done_late = add_action(
        session,
        failure_id=logged.id,
        review_id=review.id,
        title="Add the dependency check to the kickoff checklist (done, was due last week)",
        owner="ben",
        due_date=(today - dt.timedelta(days=7)).isoformat(),
        backfill=True,
        viewer=SYSTEM,
    )
    complete_action(session, done_late.id, evidence="checklist v3 has the step", viewer=SYSTEM)
    session.flush()

    listed = {
        a.id for a in list_actions(session, overdue=True, today=today, page_size=50, viewer=SYSTEM).items
    }
    assert listed == {due["yesterday"].id}
    for label, action in due.items():
        expected = label == "yesterday"
        assert action.is_overdue(today) is expected
        assert ActionOut.model_validate(action).overdue is expected
    assert not session.get(Action, done_late.id).is_overdue(today)  # type: ignore[union-attr]

    # The digest of the week that ended yesterday reads "overdue as of today": the same set.
    digest = collect(
        session, get_team(session, "Payments", viewer=SYSTEM), today - dt.timedelta(days=1), viewer=SYSTEM
    )
    assert {(a.id, a.days_overdue) for a in digest.overdue_actions} == {(due["yesterday"].id, 1)}
