from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from lessonloop.access.viewer import viewer_for
from lessonloop.actions.models import Action, is_overdue
from lessonloop.actions.service import add_action, complete_action, drop_action, list_actions
from lessonloop.experiments.service import add_experiment, record_observation
from lessonloop.failures.service import confirm_repeat, transition
from lessonloop.followthrough.recognition import recognise
from lessonloop.lessons.service import create_lesson
from lessonloop.people.service import add_team
from lessonloop.reviews.service import primary_action
from lessonloop.signals.metrics import compute_metrics, drifted, metrics_csv
from lessonloop.web.charts import drift_points, monthly_totals
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
    add_action(
        session,
        failure_id=f.id,
        title="late",
        owner="ben",
        due_date="2026-11-20",
        backfill=True,
        viewer=SYSTEM,
    )
    add_action(
        session,
        failure_id=f.id,
        title="later",
        owner="ben",
        due_date="2026-11-10",
        backfill=True,
        viewer=SYSTEM,
    )
    ok = add_action(
        session, failure_id=f.id, title="ok", owner="ben", due_date="2026-11-25", backfill=True, viewer=SYSTEM
    )
    add_action(
        session,
        failure_id=f.id,
        title="future",
        owner="ben",
        due_date="2026-12-20",
        backfill=True,
        viewer=SYSTEM,
    )
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
        session,
        failure_id=f.id,
        title="Be more careful",
        owner="ben",
        due_date="2026-12-01",
        backfill=True,
        viewer=SYSTEM,
    )
    assert vague.specificity is not None and vague.specificity < action.specificity
    totals = compute_metrics(session, today=TODAY, viewer=SYSTEM)["totals"]
    assert totals["blame_rate"] == 1.0
    assert totals["mean_specificity"] == round((action.specificity + vague.specificity) / 2, 1)


# ---- one definition of drift and overdue ------------------------------------------------------


def _closed_on(session: Session, action_id: int, day: str) -> None:
    """Move an action's closing moment to noon UTC of ``day`` (the services close it now)."""
    action = session.get(Action, action_id)
    assert action is not None
    action.closed_at = dt.datetime.fromisoformat(day).replace(hour=12, tzinfo=dt.UTC)
    session.flush()


def test_dropped_after_its_due_date_counts_as_late(session: Session) -> None:
    team_with_people(session)
    f = failure(session, team="Payments", detected_at="2026-10-01")
    early = add_action(
        session, failure_id=f.id, title="a", owner="ben", due_date="2026-10-10", backfill=True, viewer=SYSTEM
    )
    on_day = add_action(
        session, failure_id=f.id, title="b", owner="ben", due_date="2026-10-12", backfill=True, viewer=SYSTEM
    )
    late = add_action(
        session, failure_id=f.id, title="c", owner="ben", due_date="2026-10-14", backfill=True, viewer=SYSTEM
    )
    for action, day in ((early, "2026-10-05"), (on_day, "2026-10-12"), (late, "2026-10-20")):
        drop_action(session, action.id, reason="not needed", viewer=SYSTEM)
        _closed_on(session, action.id, day)
    oct_ = _month(compute_metrics(session, today=TODAY, viewer=SYSTEM), "Payments", "2026-10")
    assert oct_["actions_due"] == 3
    assert oct_["actions_late"] == 1  # dropped six days after its due date; the others were not late
    assert oct_["actions_overdue"] == 0
    assert oct_["overdue_share"] == round(1 / 3, 4)


@pytest.mark.parametrize(
    ("status", "due", "closed", "expected"),
    [
        ("open", "2026-11-29", None, True),  # overdue today
        ("open", "2026-11-30", None, False),  # due today: not late yet
        ("done", "2026-11-10", "2026-11-10", False),  # closed on its due date
        ("done", "2026-11-10", "2026-11-11", True),
        ("dropped", "2026-11-10", "2026-11-11", True),
        ("dropped", "2026-11-10", "2026-11-09", False),
        ("done", "2026-11-29", "2026-11-30", True),  # closed today, a day late
    ],
)
def test_drift_sql_and_python_twins_agree(
    session: Session, status: str, due: str, closed: str | None, expected: bool
) -> None:
    team_with_people(session)
    f = failure(session, team="Payments", detected_at="2026-11-01")
    action = add_action(
        session, failure_id=f.id, title="x", owner="ben", due_date=due, backfill=True, viewer=SYSTEM
    )
    if status == "done":
        complete_action(session, action.id, evidence="shipped", viewer=SYSTEM)
    elif status == "dropped":
        drop_action(session, action.id, reason="moot", viewer=SYSTEM)
    if closed is not None:
        _closed_on(session, action.id, closed)
    due_day = dt.date.fromisoformat(due)
    closed_day = dt.date.fromisoformat(closed) if closed else None
    assert drifted(status, due_day, closed_day, TODAY) is expected
    row = _month(compute_metrics(session, today=TODAY, viewer=SYSTEM), "Payments", "2026-11")
    assert row["actions_late"] == int(expected)
    assert row["actions_overdue"] == int(is_overdue(status, due_day, TODAY))


def test_drift_chart_and_overdue_count_agree(session: Session) -> None:
    """A month with late actions: what the chart draws and what the overdue list counts are the
    same actions (the chart's still-overdue figure is the overdue list of that due month)."""
    ctx = team_with_people(session)
    others = add_team(session, name="Support", viewer=SYSTEM)
    mine = failure(session, team="Payments", detected_at="2026-09-20")
    theirs = failure(session, team="Support", detected_at="2026-10-01")
    open_late = [
        add_action(
            session,
            failure_id=mine.id,
            title="a",
            owner="ben",
            due_date="2026-10-03",
            backfill=True,
            viewer=SYSTEM,
        ),
        add_action(
            session,
            failure_id=theirs.id,
            title="b",
            owner="ana",
            due_date="2026-10-28",
            backfill=True,
            viewer=SYSTEM,
        ),
    ]
    done_late = add_action(
        session,
        failure_id=mine.id,
        title="c",
        owner="ben",
        due_date="2026-10-05",
        backfill=True,
        viewer=SYSTEM,
    )
    dropped_late = add_action(
        session,
        failure_id=theirs.id,
        title="d",
        owner="ana",
        due_date="2026-10-06",
        backfill=True,
        viewer=SYSTEM,
    )
    on_time = add_action(
        session,
        failure_id=mine.id,
        title="e",
        owner="ben",
        due_date="2026-10-30",
        backfill=True,
        viewer=SYSTEM,
    )
    complete_action(session, done_late.id, evidence="shipped", viewer=SYSTEM)
    _closed_on(session, done_late.id, "2026-10-09")
    drop_action(session, dropped_late.id, reason="moot", viewer=SYSTEM)
    _closed_on(session, dropped_late.id, "2026-10-07")
    complete_action(session, on_time.id, evidence="shipped", viewer=SYSTEM)
    _closed_on(session, on_time.id, "2026-10-29")
    # One overdue in November too, so the month boundary matters.
    add_action(
        session,
        failure_id=mine.id,
        title="f",
        owner="ben",
        due_date="2026-11-02",
        backfill=True,
        viewer=SYSTEM,
    )

    ben = viewer_for(session, ctx["ben"])  # a member of Payments: Support's failure is not his to see
    expected = {"system": ({a.id for a in open_late}, (5, 4, 2)), "ben": ({open_late[0].id}, (3, 2, 1))}
    for name, viewer in (("system", SYSTEM), ("ben", ben)):
        totals = monthly_totals(compute_metrics(session, today=TODAY, viewer=viewer), today=TODAY)
        chart = {t.month: t for t in totals}
        overdue_now = list_actions(session, overdue=True, today=TODAY, page_size=200, viewer=viewer).items
        by_month = {m: [a for a in overdue_now if a.due_date.isoformat()[:7] == m] for m in chart}
        for month, t in chart.items():
            assert t.actions_overdue == len(by_month[month]), month
            assert t.actions_overdue <= t.actions_late <= t.actions_due
        assert sum(t.actions_overdue for t in totals) == len(overdue_now)
        ids, figures = expected[name]
        assert {a.id for a in by_month["2026-10"]} == ids
        october = chart["2026-10"]
        assert (october.actions_due, october.actions_late, october.actions_overdue) == figures
        point = drift_points(totals)[list(chart).index("2026-10")]
        due, late, still = figures
        assert point.value == late / due
        assert f"{late} of {due} due actions late, {still} still overdue" in point.detail
    assert others.id != ctx["team"].id


# ---- lessons not implemented follow chains of repeats ------------------------------------------


def test_lessons_not_implemented_follow_a_chain_of_repeats(session: Session) -> None:
    team_with_people(session)
    first = failure(session, team="Payments", detected_at="2026-08-02T09:00:00")
    fix = add_action(
        session,
        failure_id=first.id,
        title="Add a check",
        owner="ben",
        due_date="2026-08-20",
        backfill=True,
        viewer=SYSTEM,
    )
    complete_action(session, fix.id, evidence="shipped", viewer=SYSTEM)
    _closed_on(session, fix.id, "2026-08-15")
    second = failure(session, team="Payments", detected_at="2026-09-03T09:00:00")
    confirm_repeat(session, second.id, first.id, viewer=SYSTEM)
    third = failure(session, team="Payments", detected_at="2026-10-03T09:00:00")
    confirm_repeat(session, third.id, second.id, viewer=SYSTEM)
    fourth = failure(session, team="Payments", detected_at="2026-11-03T09:00:00")
    confirm_repeat(session, fourth.id, third.id, viewer=SYSTEM)
    result = compute_metrics(session, today=TODAY, viewer=SYSTEM)
    # The second repeats a failure whose action was done; the third and the fourth repeat
    # repeats of it: the fix existed up the chain, practice did not change.
    for month in ("2026-09", "2026-10", "2026-11"):
        assert _month(result, "Payments", month)["lessons_not_implemented"] == 1, month
    assert result["totals"]["lessons_not_implemented"] == 3


def test_a_chain_counts_only_what_existed_when_the_repeat_was_detected(session: Session) -> None:
    team_with_people(session)
    first = failure(session, team="Payments", detected_at="2026-08-02T09:00:00")
    second = failure(session, team="Payments", detected_at="2026-09-03T09:00:00")
    confirm_repeat(session, second.id, first.id, viewer=SYSTEM)
    third = failure(session, team="Payments", detected_at="2026-10-03T09:00:00")
    confirm_repeat(session, third.id, second.id, viewer=SYSTEM)
    create_lesson(
        session, title="Dates", learned="Ask", failures=[first.id], published_at="2026-09-20", viewer=SYSTEM
    )
    result = compute_metrics(session, today=TODAY, viewer=SYSTEM)
    assert _month(result, "Payments", "2026-09")["lessons_not_implemented"] == 0  # before the lesson
    assert _month(result, "Payments", "2026-10")["lessons_not_implemented"] == 1  # two links up
