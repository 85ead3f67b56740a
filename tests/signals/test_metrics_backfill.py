"""The metrics read back-filled dates: an action's done date, a review's held date."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from lessonloop.actions.models import today_utc
from lessonloop.actions.service import add_action, complete_action
from lessonloop.reviews.service import revise_review
from lessonloop.signals.metrics import compute_metrics
from tests.factories import SYSTEM, failure, reviewed, team_with_people

TODAY = today_utc()


def _day(offset: int) -> str:
    return (TODAY + dt.timedelta(days=offset)).isoformat()


def test_a_back_filled_done_date_counts_for_drift(session: Session) -> None:
    team_with_people(session)
    f = failure(session, team="Payments", detected_at=_day(-40))
    on_time = add_action(
        session,
        failure_id=f.id,
        title="on time",
        owner="ben",
        due_date=_day(-10),
        backfill=True,
        viewer=SYSTEM,
    )
    late = add_action(
        session, failure_id=f.id, title="late", owner="ben", due_date=_day(-10), backfill=True, viewer=SYSTEM
    )
    complete_action(session, on_time.id, evidence="shipped", done_at=_day(-12), viewer=SYSTEM)
    complete_action(session, late.id, evidence="shipped", viewer=SYSTEM)  # done today: after its due date
    totals = compute_metrics(session, today=TODAY, viewer=SYSTEM)["totals"]
    assert totals["actions_due"] == 2
    assert totals["actions_late"] == 1  # the back-filled one was done before it was due
    assert totals["actions_overdue"] == 0


def test_time_to_review_reads_when_the_review_was_held(session: Session) -> None:
    team_with_people(session)
    detected = dt.datetime.combine(TODAY - dt.timedelta(days=20), dt.time(9), dt.UTC)
    review = reviewed(session, failure(session, team="Payments", detected_at=detected))
    revise_review(session, review.id, {"held_at": detected + dt.timedelta(hours=30)}, viewer=SYSTEM)
    totals = compute_metrics(session, today=TODAY, viewer=SYSTEM)["totals"]
    assert totals["median_hours_to_review"] == 30.0
