from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from lessonloop.actions.service import add_action, complete_action
from lessonloop.experiments.service import add_experiment, record_observation
from lessonloop.failures.service import confirm_repeat, transition
from lessonloop.followthrough.recognition import recognise
from lessonloop.lessons.service import create_lesson
from lessonloop.reviews.service import primary_action
from lessonloop.signals.metrics import compute_metrics, metrics_csv
from lessonloop.worker.checks import record_check
from tests.factories import SYSTEM, failure, reviewed, team_with_people

TODAY = dt.date(2026, 11, 30)


def _month(result: dict, team: str, month: str) -> dict:  # type: ignore[type-arg]
    return next(r for r in result["months"] if r["team"] == team and r["month"] == month)


def test_repeat_rate_and_lesson_not_implemented(session: Session) -> None:
    team_with_people(session)
    first = failure(session, team="Payments", detected_at="2026-10-02T09:00:00")
    create_lesson(
        session,
        title="Date deps",
        learned="Ask for dates",
        failures=[first.id],
        published_at="2026-10-10",
        viewer=SYSTEM,
    )
    again = failure(session, team="Payments", detected_at="2026-11-03T09:00:00")
    confirm_repeat(session, again.id, first.id, viewer=SYSTEM)
    failure(session, team="Payments", detected_at="2026-11-05T09:00:00")
    result = compute_metrics(session, today=TODAY, viewer=SYSTEM)
    nov = _month(result, "Payments", "2026-11")
    assert nov["failures"] == 2 and nov["repeats"] == 1 and nov["repeat_rate"] == 0.5
    assert nov["lessons_not_implemented"] == 1
    assert _month(result, "Payments", "2026-10")["repeat_rate"] == 0.0
    assert result["totals"]["failures"] == 3


def test_time_to_review_gap_types_and_blame_rate(session: Session) -> None:
    team_with_people(session)
    f = failure(session, team="Payments", detected_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=10))
    reviewed(session, f)
    totals = compute_metrics(session, today=TODAY, viewer=SYSTEM)["totals"]
    assert 9.9 <= totals["median_hours_to_review"] <= 10.1
    assert totals["gap_types"] == {"process": 1}
    assert totals["blame_rate"] == 0.0


def test_action_drift(session: Session) -> None:
    team_with_people(session)
    f = failure(session, team="Payments", detected_at="2026-11-01")
    add_action(session, failure_id=f.id, title="late", owner="ben", due_date="2026-11-20", viewer=SYSTEM)
    add_action(session, failure_id=f.id, title="later", owner="ben", due_date="2026-11-10", viewer=SYSTEM)
    ok = add_action(session, failure_id=f.id, title="ok", owner="ben", due_date="2026-11-25", viewer=SYSTEM)
    add_action(session, failure_id=f.id, title="future", owner="ben", due_date="2026-12-20", viewer=SYSTEM)
    complete_action(session, ok.id, evidence="done", viewer=SYSTEM)  # closed today, i.e. after 11-25: late
    nov = _month(compute_metrics(session, today=TODAY, viewer=SYSTEM), "Payments", "2026-11")
    assert nov["actions_due"] == 3
    assert nov["overdue_share"] == 1.0
    assert nov["median_days_overdue"] == 15.0  # open ones: 10 and 20 days


def test_learning_conversion_needs_done_and_verified(session: Session) -> None:
    team_with_people(session)
    verified = failure(session, team="Payments", detected_at="2026-11-01")
    unverified = failure(session, team="Payments", detected_at="2026-11-02")
    actions = {}
    for f in (verified, unverified):
        review = reviewed(session, f)
        action = primary_action(session, review, viewer=SYSTEM)
        assert action is not None
        actions[f.id] = action.id
        complete_action(session, action.id, evidence="shipped", viewer=SYSTEM)
        if f is verified:
            exp = add_experiment(
                session,
                action_id=action.id,
                hypothesis="h",
                metric="m",
                comparator="<=",
                threshold=0,
                start_date="2026-11-01",
                end_date="2026-11-30",
                viewer=SYSTEM,
            )
            record_observation(session, exp.id, value=0, viewer=SYSTEM)
    assert compute_metrics(session, today=TODAY, viewer=SYSTEM)["totals"]["learning_conversion"] == 0.5
    # The owner's "no" at the review-date check does not verify it; a later "yes" does.
    check = actions[unverified.id]
    record_check(session, check, worked="no", now=dt.datetime(2026, 11, 20, tzinfo=dt.UTC), viewer=SYSTEM)
    assert compute_metrics(session, today=TODAY, viewer=SYSTEM)["totals"]["learning_conversion"] == 0.5
    record_check(session, check, worked="yes", now=dt.datetime(2026, 11, 27, tzinfo=dt.UTC), viewer=SYSTEM)
    assert compute_metrics(session, today=TODAY, viewer=SYSTEM)["totals"]["learning_conversion"] == 1.0


def test_learned_counts_as_verified(session: Session) -> None:
    team_with_people(session)
    unverified = failure(session, team="Payments", detected_at="2026-11-02")
    action = primary_action(session, reviewed(session, unverified), viewer=SYSTEM)
    assert action is not None
    complete_action(session, action.id, evidence="shipped", viewer=SYSTEM)
    assert compute_metrics(session, today=TODAY, viewer=SYSTEM)["totals"]["learning_conversion"] == 0.0
    transition(session, unverified.id, "re-evaluating", viewer=SYSTEM)
    transition(session, unverified.id, "learned", viewer=SYSTEM)
    assert compute_metrics(session, today=TODAY, viewer=SYSTEM)["totals"]["learning_conversion"] == 1.0


def test_filters_and_csv(session: Session) -> None:
    ctx = team_with_people(session)
    failure(session, team="Payments", detected_at="2026-09-01")
    failure(session, detected_at="2026-11-01")
    result = compute_metrics(session, team_id=ctx["team"].id, today=TODAY, viewer=SYSTEM)
    assert result["totals"]["failures"] == 1
    since = compute_metrics(
        session, since=dt.datetime(2026, 10, 1, tzinfo=dt.UTC), today=TODAY, viewer=SYSTEM
    )
    assert since["totals"]["failures"] == 1 and since["months"][0]["team"] == "(no team)"
    text = metrics_csv(result)
    assert text.splitlines()[0].startswith("team,month,failures,repeats,repeat_rate")
    assert len(text.splitlines()) == 3  # header, one month, totals


def test_empty_workspace(session: Session) -> None:
    result = compute_metrics(session, today=TODAY, viewer=SYSTEM)
    assert result["months"] == [] and result["totals"]["repeat_rate"] is None
    assert result["recognition"]["total"] == 0


def test_recognition_is_counted_beside_the_loop(session: Session) -> None:
    ctx = team_with_people(session)
    failure(session, team="Payments", detected_at="2026-11-01")
    recognise(session, person="ben", kind="candid-review", by="ana", team="Payments", viewer=SYSTEM)
    recognise(session, person="ben", kind="validated-fix", by="ana", team="Payments", viewer=SYSTEM)
    result = compute_metrics(session, team_id=ctx["team"].id, today=TODAY, viewer=SYSTEM)
    assert result["recognition"]["total"] == 2
    assert result["recognition"]["by_person"] == {"ben": 2}
    assert result["recognition"]["by_kind"]["candid-review"] == 1


def test_coach_scores_are_kept_on_write(session: Session) -> None:
    team_with_people(session)
    f = failure(session, team="Payments")
    review = reviewed(session, f, root_cause="Ben was careless and should have known better")
    assert review.blame_findings >= 1
    action = primary_action(session, review, viewer=SYSTEM)
    assert action is not None and action.specificity is not None and action.specificity > 50
    vague = add_action(
        session, failure_id=f.id, title="Be more careful", owner="ben", due_date="2026-12-01", viewer=SYSTEM
    )
    assert vague.specificity is not None and vague.specificity < action.specificity
    totals = compute_metrics(session, today=TODAY, viewer=SYSTEM)["totals"]
    assert totals["blame_rate"] == 1.0
    assert totals["mean_specificity"] == round((action.specificity + vague.specificity) / 2, 1)
