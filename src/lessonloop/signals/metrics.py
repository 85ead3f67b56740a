"""Learning metrics: is learning turning into changed practice?

Per team and per month (the month a failure was detected, or an action was due):

- ``repeat_rate``: confirmed repeats / failures.
- ``lessons_not_implemented``: repeats detected after a lesson was published for the failure
  they repeat (the lesson existed; practice did not change).
- ``median_hours_to_review``: detection → completed review (rapid post-mortems).
- ``overdue_share`` / ``median_days_overdue`` (action drift): of the actions due that month (up
  to today), the share still open past their due date or closed late, and how late the open
  ones are today.
- ``mean_specificity``: the coach's 0–100 score of the actions created for those failures.
- ``learning_conversion``: failures whose primary action is done *and* verified: by a passed
  experiment on it, by its owner answering "yes, it worked" at the review-date check (the
  worker's "did this work?" prompt), or by the failure reaching *learned* (re-evaluated).
- ``recognition`` (whole result): recognition given for learning and correction, by kind and
  person, so learning is counted beside wins.
- ``blame_rate``: completed reviews with at least one blame-language finding.
- ``gap_types``: skill / process / context / resourcing split of completed reviews.

Everything is read with a handful of column-only queries and aggregated in one pass, so the
whole computation stays fast at 100k failures.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import statistics
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lessonloop.access.policy import visible_failures_clause
from lessonloop.access.viewer import Viewer
from lessonloop.actions.models import Action, ActionStatus
from lessonloop.experiments.models import Experiment, Observation
from lessonloop.experiments.verdict import Verdict, verdict
from lessonloop.failures.models import Failure, FailureStatus
from lessonloop.followthrough.recognition import recognition_counts
from lessonloop.lessons.models import Lesson, lesson_failures
from lessonloop.people.models import Team
from lessonloop.reviews.models import Review, ReviewStatus
from lessonloop.reviews.service import list_assumptions

ALL_TEAMS = "(all teams)"
NO_TEAM = "(no team)"


@dataclass
class _Bucket:
    failures: int = 0
    repeats: int = 0
    lessons_not_implemented: int = 0
    hours_to_review: list[float] = field(default_factory=list)
    actions_due: int = 0
    actions_late: int = 0
    days_overdue: list[int] = field(default_factory=list)
    specificity: list[int] = field(default_factory=list)
    converted: int = 0
    reviews: int = 0
    reviews_with_blame: int = 0
    gap_types: Counter[str] = field(default_factory=Counter)


@dataclass
class MetricsRow:
    team: str
    month: str
    failures: int
    repeats: int
    repeat_rate: float | None
    lessons_not_implemented: int
    median_hours_to_review: float | None
    actions_due: int
    overdue_share: float | None
    median_days_overdue: float | None
    mean_specificity: float | None
    learning_conversion: float | None
    blame_rate: float | None
    gap_types: dict[str, int]


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _median(values: list[float] | list[int]) -> float | None:
    return round(float(statistics.median(values)), 2) if values else None


def _row(team: str, month: str, b: _Bucket) -> MetricsRow:
    return MetricsRow(
        team=team,
        month=month,
        failures=b.failures,
        repeats=b.repeats,
        repeat_rate=_ratio(b.repeats, b.failures),
        lessons_not_implemented=b.lessons_not_implemented,
        median_hours_to_review=_median(b.hours_to_review),
        actions_due=b.actions_due,
        overdue_share=_ratio(b.actions_late, b.actions_due),
        median_days_overdue=_median(b.days_overdue),
        mean_specificity=round(statistics.fmean(b.specificity), 1) if b.specificity else None,
        learning_conversion=_ratio(b.converted, b.failures),
        blame_rate=_ratio(b.reviews_with_blame, b.reviews),
        gap_types=dict(sorted(b.gap_types.items())),
    )


def compute_metrics(
    session: Session,
    *,
    team_id: int | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    today: dt.date | None = None,
    viewer: Viewer | None = None,
) -> dict[str, Any]:
    """``viewer``: count only the failures they may see (and their reviews, actions and
    assumptions); ``None`` is a trusted local caller that counts everything."""
    today = today or dt.date.today()
    team_names = dict(session.execute(select(Team.id, Team.name)).all())

    fq = select(Failure.id, Failure.team_id, Failure.detected_at, Failure.repeat_of_id, Failure.status)
    if team_id is not None:
        fq = fq.where(Failure.team_id == team_id)
    if viewer is not None:
        fq = fq.where(visible_failures_clause(viewer))
    if since is not None:
        fq = fq.where(Failure.detected_at >= since)
    if until is not None:
        fq = fq.where(Failure.detected_at < until)
    failures = session.execute(fq).all()
    info: dict[int, tuple[str, str, dt.datetime, str]] = {}
    for fid, tid, detected, _rep, status in failures:
        team = team_names.get(tid, NO_TEAM) if tid is not None else NO_TEAM
        info[fid] = (team, f"{detected:%Y-%m}", detected, status)

    buckets: dict[tuple[str, str], _Bucket] = defaultdict(_Bucket)
    totals = _Bucket()

    def add(fid: int) -> tuple[_Bucket, _Bucket]:
        team, month, _d, _s = info[fid]
        return buckets[(team, month)], totals

    # Lessons published per failure, to tell "repeat despite a lesson".
    lesson_dates: dict[int, dt.datetime] = {}
    for failure_id, published in session.execute(
        select(lesson_failures.c.failure_id, Lesson.published_at)
        .join(Lesson, Lesson.id == lesson_failures.c.lesson_id)
        .where(Lesson.published_at.is_not(None))
    ):
        if failure_id not in lesson_dates or published < lesson_dates[failure_id]:
            lesson_dates[failure_id] = published

    for fid, _tid, detected, repeat_of, _status in failures:
        for b in add(fid):
            b.failures += 1
            if repeat_of is not None:
                b.repeats += 1
                first_lesson = lesson_dates.get(repeat_of)
                if first_lesson is not None and first_lesson <= detected:
                    b.lessons_not_implemented += 1

    if not info:
        return _result([], _row(ALL_TEAMS, "all", totals), session, today, team_id, since, until, viewer)

    for fid, completed, gap, blame, status in session.execute(
        select(Review.failure_id, Review.completed_at, Review.gap_type, Review.blame_findings, Review.status)
    ):
        if fid not in info or status != ReviewStatus.completed.value:
            continue
        hours = (completed - info[fid][2]).total_seconds() / 3600 if completed else None
        for b in add(fid):
            b.reviews += 1
            b.reviews_with_blame += 1 if blame else 0
            if gap:
                b.gap_types[gap] += 1
            if hours is not None:
                b.hours_to_review.append(max(hours, 0.0))

    primaries: dict[int, tuple[int, str]] = {}
    for aid, fid, primary, status, due, closed, spec in session.execute(
        select(
            Action.id,
            Action.failure_id,
            Action.is_primary,
            Action.status,
            Action.due_date,
            Action.closed_at,
            Action.specificity,
        )
    ):
        if fid not in info:
            continue
        if primary:
            primaries[aid] = (fid, status)
        team = info[fid][0]
        if due <= today:
            late = (status == ActionStatus.open.value and due < today) or (
                closed is not None and status == ActionStatus.done.value and closed.date() > due
            )
            for b in (buckets[(team, f"{due:%Y-%m}")], totals):
                b.actions_due += 1
                b.actions_late += 1 if late else 0
                if status == ActionStatus.open.value and due < today:
                    b.days_overdue.append((today - due).days)
        if spec is not None:
            for b in add(fid):
                b.specificity.append(spec)

    done = [aid for aid, (_f, st) in primaries.items() if st == ActionStatus.done.value]
    verified = _passed_experiments(session, done) | _worked_at_review_date(session, done)
    for aid, (fid, status) in primaries.items():
        if status != ActionStatus.done.value:
            continue
        if aid in verified or info[fid][3] == FailureStatus.learned.value:
            for b in add(fid):
                b.converted += 1

    rows = [_row(team, month, b) for (team, month), b in sorted(buckets.items())]
    return _result(rows, _row(ALL_TEAMS, "all", totals), session, today, team_id, since, until, viewer)


def _worked_at_review_date(session: Session, action_ids: list[int]) -> set[int]:
    """Actions whose owner answered "yes" to the review-date check (see lessonloop.worker)."""
    from lessonloop.worker.checks import verified_action_ids  # the worker builds on the domain

    return verified_action_ids(session, action_ids) if action_ids else set()


def _passed_experiments(session: Session, action_ids: list[int]) -> set[int]:
    if not action_ids:
        return set()
    experiments: dict[int, tuple[int, str, float]] = {}
    values: dict[int, list[tuple[dt.datetime, int, float]]] = defaultdict(list)
    chunk = 900  # stay under SQLite's bound-parameter limit
    for start in range(0, len(action_ids), chunk):
        ids = action_ids[start : start + chunk]
        for eid, aid, comparator, threshold in session.execute(
            select(Experiment.id, Experiment.action_id, Experiment.comparator, Experiment.threshold).where(
                Experiment.action_id.in_(ids)
            )
        ):
            experiments[eid] = (aid, comparator, threshold)
    eids = list(experiments)
    for start in range(0, len(eids), chunk):
        for eid, at, oid, value in session.execute(
            select(
                Observation.experiment_id, Observation.observed_at, Observation.id, Observation.value
            ).where(Observation.experiment_id.in_(eids[start : start + chunk]))
        ):
            values[eid].append((at, oid, value))
    passed: set[int] = set()
    for eid, (aid, comparator, threshold) in experiments.items():
        series = [v for _at, _id, v in sorted(values.get(eid, []))]
        if verdict(comparator, threshold, series) == Verdict.passed:
            passed.add(aid)
    return passed


def _result(
    rows: list[MetricsRow],
    totals: MetricsRow,
    session: Session,
    today: dt.date,
    team_id: int | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    viewer: Viewer | None = None,
) -> dict[str, Any]:
    top = [
        {"id": a.id, "statement": a.statement, "failures": n}
        for a, n in list_assumptions(session, status="failed", viewer=viewer)[:10]
        if n > 0
    ]
    return {
        "today": today.isoformat(),
        "filters": {
            "team_id": team_id,
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
        },
        "totals": asdict(totals),
        "months": [asdict(r) for r in rows],
        "top_failed_assumptions": top,
        "recognition": recognition_counts(session, team_id=team_id, since=since, until=until, viewer=viewer),
    }


CSV_FIELDS = [f for f in MetricsRow.__dataclass_fields__ if f != "gap_types"] + [
    "gap_skill",
    "gap_process",
    "gap_context",
    "gap_resourcing",
]


def metrics_csv(result: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in [*result["months"], result["totals"]]:
        flat = {k: v for k, v in row.items() if k != "gap_types"}
        for gap in ("skill", "process", "context", "resourcing"):
            flat[f"gap_{gap}"] = row["gap_types"].get(gap, 0)
        writer.writerow({k: "" if v is None else v for k, v in flat.items()})
    return out.getvalue()
