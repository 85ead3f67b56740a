"""Learning metrics: is learning turning into changed practice?

Per team and per month (the month a failure was detected, or an action was due):

- ``repeat_rate``: confirmed repeats / failures.
- ``lessons_not_implemented``: repeats detected after the failure they repeat, or any earlier
  failure up its chain of repeats, had a published lesson or a done corrective action (the
  lesson or the fix existed; practice did not change).
- ``median_hours_to_review``: detection → the completed review, held (its ``held_at``, which a
  back-filled review sets to when it really happened; else ``completed_at``) (rapid post-mortems).
- ``actions_late`` / ``overdue_share`` / ``median_days_overdue`` (action drift): of the actions
  due that month (up to today), those that *drifted* (:func:`drifted`: overdue on some day up to
  today, i.e. still overdue or closed, done or dropped, after their due date; the closing day is
  ``closed_at``, which a back-filled done date sets), their share, and
  how late the still-overdue ones are today. ``actions_overdue`` is the part still overdue today
  (``actions.models.overdue_clause``): the same actions the overdue lists show.
- ``mean_specificity``: the 0–100 specificity (:mod:`lessonloop.signals.specificity`) of the
  actions created for those failures; an action with no stored score is scored here.
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

import datetime as dt
import functools
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Date, Integer, and_, case, cast, func, literal, or_, select
from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor, is_person
from lessonloop.access.policy import visible_failures_clause
from lessonloop.actions.models import Action, ActionStatus, is_overdue, overdue_clause
from lessonloop.csvout import to_csv
from lessonloop.experiments.models import Experiment, Observation
from lessonloop.experiments.verdict import Verdict, verdict
from lessonloop.failures.counts import own_failures_outside_groups, whole_groups
from lessonloop.failures.models import Failure, FailureStatus
from lessonloop.followthrough.recognition import recognition_counts
from lessonloop.lessons.models import Lesson, lesson_failures
from lessonloop.people.models import Person, Team
from lessonloop.reviews.models import Assumption, AssumptionStatus, Review, ReviewStatus, review_assumptions
from lessonloop.signals.specificity import specificity as score_specificity

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
    actions_overdue: int = 0
    days_overdue: list[int] = field(default_factory=list)
    specificity_sum: int = 0
    specificity_count: int = 0
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
    actions_late: int
    actions_overdue: int
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
        actions_late=b.actions_late,
        actions_overdue=b.actions_overdue,
        overdue_share=_ratio(b.actions_late, b.actions_due),
        median_days_overdue=_median(b.days_overdue),
        mean_specificity=round(b.specificity_sum / b.specificity_count, 1) if b.specificity_count else None,
        learning_conversion=_ratio(b.converted, b.failures),
        blame_rate=_ratio(b.reviews_with_blame, b.reviews),
        gap_types=dict(sorted(b.gap_types.items())),
    )


def _month(column: Any, dialect: str) -> Any:
    """The month of a stored (naive UTC) timestamp or date, computed by the database: its
    ``YYYY-MM`` text on SQLite, the month's first moment on PostgreSQL (``date_trunc``; made the
    same text by :func:`_month_text`). ``to_char`` on every row cost PostgreSQL 18 ms of the
    insights page's 52 ms count of 150,000 failures in its window at 1M (decision 73)."""
    if dialect == "sqlite":  # stored as 'YYYY-MM-DD HH:MM:SS.ffffff'
        return func.substr(column, 1, 7)
    return func.date_trunc("month", column)


@functools.lru_cache(maxsize=4096)
def _month_text(value: str | dt.datetime) -> str:
    """``YYYY-MM`` of what :func:`_month` read (kept: a page reads the same few months many times)."""
    return value if isinstance(value, str) else f"{value.year:04d}-{value.month:02d}"


class _Dialect:
    """The few date expressions that SQLite and PostgreSQL spell differently."""

    def __init__(self, name: str) -> None:
        self.name = name

    def date(self, column: Any) -> Any:
        """The calendar day of a stored (naive UTC) timestamp."""
        return func.date(column) if self.name == "sqlite" else cast(column, Date)

    def hours_between(self, start: Any, end: Any) -> Any:
        if self.name == "sqlite":  # julianday: days as a float, exact to well under a second
            return (func.julianday(end) - func.julianday(start)) * 24.0
        return func.extract("epoch", end - start) / 3600.0

    def days_before(self, today: dt.date, column: Any) -> Any:
        """Whole days from a date column to ``today``."""
        if self.name == "sqlite":
            return cast(func.julianday(today.isoformat()) - func.julianday(column), Integer)
        return literal(today, Date) - column


# -- "drifted": the one definition of action drift, in terms of "overdue" ------------------------
# The drift chart, the Insights page, the CSV and the API count the actions due in a month that
# drifted; the overdue lists count the actions overdue today. Both are
# ``actions.models.is_overdue`` / ``overdue_clause``: an action drifted when it was overdue on
# some day up to today, so every action overdue today has drifted, and ``actions_overdue`` (the
# drifted ones still overdue) is exactly what an overdue list shows for that due month.


def drifted(status: str, due_date: dt.date, closed_on: dt.date | None, today: dt.date) -> bool:
    """Whether an action was overdue (:func:`~lessonloop.actions.models.is_overdue`) on some day
    up to ``today``.

    Open: it is overdue today. Closed (done *or dropped*) on the day ``closed_on``: it was still
    open that day, so it was overdue if its due date was before that day; one closed on or before
    its due date never was. A closed action without a closing day never drifted.
    """
    if status == ActionStatus.open.value or closed_on is None:
        return is_overdue(status, due_date, today)
    return is_overdue(ActionStatus.open.value, due_date, min(closed_on, today))


def drifted_clause(today: dt.date, closed_day: Any) -> ColumnElement[bool]:
    """The SQL twin of :func:`drifted` (``closed_day``: the calendar day of ``Action.closed_at``,
    which SQLite and PostgreSQL spell differently)."""
    closed_then_overdue = and_(
        Action.status != ActionStatus.open.value,
        Action.closed_at.is_not(None),
        Action.due_date < closed_day,
        Action.due_date < today,
    )
    return or_(overdue_clause(today), closed_then_overdue)


def _first_evidence(conn: Any) -> dict[int, dt.datetime]:
    """Per failure, the first moment practice was meant to change: its first published lesson or
    its first done action, whichever came first."""
    first: dict[int, dt.datetime] = {}
    rows = list(
        conn.execute(
            select(lesson_failures.c.failure_id, func.min(Lesson.published_at))
            .join(Lesson, Lesson.id == lesson_failures.c.lesson_id)
            .where(Lesson.published_at.is_not(None))
            .group_by(lesson_failures.c.failure_id)
        )
    )
    rows += conn.execute(
        select(Action.failure_id, func.min(Action.closed_at))
        .where(Action.status == ActionStatus.done.value, Action.closed_at.is_not(None))
        .group_by(Action.failure_id)
    ).all()
    for failure_id, at in rows:
        moment = _aware(at)
        if failure_id not in first or moment < first[failure_id]:
            first[failure_id] = moment
    return first


def _lesson_before(
    repeat_id: int, detected: dt.datetime, parents: dict[int, int], evidence: dict[int, dt.datetime]
) -> bool:
    """Whether a failure up ``repeat_id``'s chain of repeats (the one it repeats, the one that
    repeats, ...) had a published lesson or a done action by ``detected``."""
    seen = {repeat_id}
    current = parents.get(repeat_id)
    while current is not None and current not in seen:
        at = evidence.get(current)
        if at is not None and at <= detected:
            return True
        seen.add(current)
        current = parents.get(current)
    return False


def _failure_filters(
    viewer: Actor, team_id: int | None, since: dt.datetime | None, until: dt.datetime | None
) -> list[Any]:
    """The failures a computation counts: of one team, detected in ``[since, until)``, and only
    those ``viewer`` may see (in SQL, the same rule as every list)."""
    where: list[Any] = []
    if team_id is not None:
        where.append(Failure.team_id == team_id)
    if is_person(viewer):
        where.append(visible_failures_clause(viewer))
    if since is not None:
        where.append(Failure.detected_at >= since)
    if until is not None:
        where.append(Failure.detected_at < until)
    return where


def month_start(today: dt.date, months_back: int) -> dt.date:
    """The first day of the month ``months_back`` months before ``today``'s month."""
    index = today.year * 12 + today.month - 1 - months_back
    return dt.date(index // 12, index % 12 + 1, 1)


def chart_metrics(
    session: Session,
    *,
    team_id: int | None = None,
    today: dt.date | None = None,
    months: int = 12,
    viewer: Actor,
) -> dict[str, Any]:
    """What the repeat-rate and drift charts show, computed by the database for the last
    ``months`` months only: per month, failures and repeats (by detection month) and actions due,
    drifted and still overdue (by due month), plus every action overdue today.

    The same counts as :func:`compute_metrics`'s month rows summed over teams (the same filters,
    :func:`drifted_clause` and ``overdue_clause``), in ``{"months": [...], "totals": {...}}``
    shape for :func:`lessonloop.web.charts.monthly_totals`; a page that shows only the charts
    no longer computes every metric over all time (decision 43).
    """
    today = today or dt.date.today()
    conn = session.connection()
    sql = _Dialect(session.get_bind().dialect.name)
    where = _failure_filters(viewer, team_id, None, None)
    first = month_start(today, months - 1)
    after = month_start(today, -1)  # the first day of next month
    start, end = (dt.datetime(d.year, d.month, d.day) for d in (first, after))
    rows: dict[str, dict[str, Any]] = {}

    def row(mon: str | dt.datetime) -> dict[str, Any]:
        mon = _month_text(mon)
        return rows.setdefault(
            mon,
            {
                "month": mon,
                "failures": 0,
                "repeats": 0,
                "actions_due": 0,
                "actions_late": 0,
                "actions_overdue": 0,
            },
        )

    detected = _month(Failure.detected_at, sql.name)
    for mon, count, repeated in conn.execute(
        select(detected, func.count(), func.count(Failure.repeat_of_id))
        .where(*where, Failure.detected_at >= start, Failure.detected_at < end)
        .group_by(detected)
    ):
        row(mon).update(failures=int(count), repeats=int(repeated))

    overdue = overdue_clause(today)
    late = drifted_clause(today, sql.date(Action.closed_at))
    due_month = _month(Action.due_date, sql.name)
    for mon, due, drifted_, still in conn.execute(
        select(
            due_month,
            func.count(),
            func.sum(case((late, 1), else_=0)),
            func.sum(case((overdue, 1), else_=0)),
        )
        .select_from(Action)
        .join(Failure, Failure.id == Action.failure_id)
        .where(*where, Action.due_date >= first, Action.due_date <= today)
        .group_by(due_month)
    ):
        row(mon).update(
            actions_due=int(due), actions_late=int(drifted_ or 0), actions_overdue=int(still or 0)
        )

    overdue_now = conn.execute(
        select(func.count())
        .select_from(Action)
        .join(Failure, Failure.id == Action.failure_id)
        .where(*where, overdue)
    ).scalar_one()
    return {
        "today": today.isoformat(),
        "months": [rows[m] for m in sorted(rows)],
        "totals": {"actions_overdue": int(overdue_now)},
    }


def compute_metrics(
    session: Session,
    *,
    team_id: int | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    today: dt.date | None = None,
    viewer: Actor,
) -> dict[str, Any]:
    """``viewer``: count only the failures they may see (and their reviews, actions and
    assumptions); a named system job counts everything.

    Failures are counted per team and month by the database (``GROUP BY``); only repeats,
    completed reviews and actions come back as rows, each joined to its failure's team and
    month, with the same filters on the failure.
    """
    today = today or dt.date.today()
    # Column rows through the session's connection (Core): the same transaction, without the
    # ORM's per-row result processing, which cost more than the queries at 100k failures.
    conn = session.connection()
    team_names = dict(conn.execute(select(Team.id, Team.name)).all())
    month = _month(Failure.detected_at, session.get_bind().dialect.name)

    where = _failure_filters(viewer, team_id, since, until)

    # Rows are added to their (team, month) bucket only; the totals are the buckets merged at the
    # end (per-row work is most of the cost at 100k failures).
    names: dict[int | None, str] = {tid: name for tid, name in team_names.items()}
    buckets: dict[tuple[str, str], _Bucket] = defaultdict(_Bucket)

    def bucket(tid: int | None, mon: str | dt.datetime) -> _Bucket:
        return buckets[(names.get(tid, NO_TEAM), _month_text(mon))]

    failures = repeats_count = 0
    for tid, mon, count, repeated in conn.execute(
        select(Failure.team_id, month, func.count(), func.count(Failure.repeat_of_id))
        .where(*where)
        # Month first: with a date filter SQLite then reads the range off the detection-date
        # index (``ix_failures_detected_cover``) instead of scanning every failure by team.
        .group_by(month, Failure.team_id)
    ).all():
        b = bucket(tid, mon)
        b.failures += int(count)
        b.repeats += int(repeated)
        failures += int(count)
        repeats_count += int(repeated)

    if not failures:
        return _result([], _row(ALL_TEAMS, "all", _Bucket()), session, today, team_id, since, until, viewer)

    # Repeats detected after the failure they repeat, or one further up its chain of repeats, had
    # a published lesson or a done action. The repeats are found through the index on
    # repeat_of_id (usually few), then read by primary key with the filters.
    repeats: list[Any] = []
    parents: dict[int, int] = {}
    if repeats_count:
        parents = {
            fid: int(parent)
            for fid, parent in conn.execute(
                select(Failure.id, Failure.repeat_of_id).where(Failure.repeat_of_id.is_not(None))
            )
            if parent is not None
        }
        ids = list(parents)
        for start in range(0, len(ids), 900):  # SQLite's bound-parameter limit
            repeats += conn.execute(
                select(Failure.team_id, month, Failure.detected_at, Failure.id).where(
                    Failure.id.in_(ids[start : start + 900]), *where
                )
            ).all()
    if repeats:
        evidence = _first_evidence(conn)
        for tid, mon, detected, repeat_id in repeats:
            if _lesson_before(repeat_id, _aware(detected), parents, evidence):
                bucket(tid, mon).lessons_not_implemented += 1

    sql = _Dialect(session.get_bind().dialect.name)
    for tid, mon, hours, gap, blame in conn.execute(
        select(
            Failure.team_id,
            month,
            # When the review was held (back-filled with ``held_at``), else when it was recorded.
            sql.hours_between(Failure.detected_at, func.coalesce(Review.held_at, Review.completed_at)),
            Review.gap_type,
            Review.blame_findings,
        )
        .join(Failure, Failure.id == Review.failure_id)
        .where(Review.status == ReviewStatus.completed.value, *where)
    ).all():
        b = bucket(tid, mon)
        b.reviews += 1
        if blame:
            b.reviews_with_blame += 1
        if gap:
            b.gap_types[gap] += 1
        if hours is not None:
            b.hours_to_review.append(max(float(hours), 0.0))

    # Actions: one pass over the actions of the selected failures (each joined to its failure by
    # primary key once), the per-action facts computed by the database: due month, due up to
    # today, drifted and overdue (:func:`drifted_clause`, ``overdue_clause``: one definition
    # each), days overdue for the overdue ones, specificity, and whether it is a done primary.
    # Four grouped queries over the same join cost three times as much at 100k failures.
    done_ = ActionStatus.done.value
    overdue = overdue_clause(today)
    late = drifted_clause(today, sql.date(Action.closed_at))
    learned = FailureStatus.learned.value
    done_primaries: dict[int, tuple[str, str, bool]] = {}  # action id → team, month, failure learned
    unscored: dict[int, tuple[str, str]] = {}  # action id → team, month
    for aid, tid, mon, due_mon, is_due, is_late, days, specificity, done_primary, is_learned in conn.execute(
        select(
            Action.id,
            Failure.team_id,
            month,
            _month(Action.due_date, sql.name),
            case((Action.due_date <= today, 1), else_=0),
            case((late, 1), else_=0),
            case((overdue, sql.days_before(today, Action.due_date)), else_=None),
            Action.specificity,
            case((and_(Action.is_primary.is_(True), Action.status == done_), 1), else_=0),
            case((Failure.status == learned, 1), else_=0),
        )
        .select_from(Action)
        .join(Failure, Failure.id == Action.failure_id)
        .where(*where)
    ).all():
        team, mon = names.get(tid, NO_TEAM), _month_text(mon)
        if is_due:
            b = buckets[(team, _month_text(due_mon))]
            b.actions_due += 1
            b.actions_late += is_late
            if days is not None:
                b.actions_overdue += 1
                b.days_overdue.append(int(days))
        if specificity is None:  # not scored since migration 0014: scored below
            unscored[aid] = (team, mon)
        else:
            b = buckets[(team, mon)]
            b.specificity_sum += int(specificity)
            b.specificity_count += 1
        if done_primary:
            done_primaries[aid] = (team, mon, bool(is_learned))

    for aid, score in _score_unscored(conn, list(unscored)).items():
        b = buckets[unscored[aid]]
        b.specificity_sum += score
        b.specificity_count += 1

    # Verification is read for all experiments and checks (far fewer than failures) and matched to
    # the done primaries here: filtering them in SQL repeated the done-primary join per query.
    done = set(done_primaries)
    verified = _passed_experiments(session, done) if done else set()
    verified |= _worked_at_review_date(session, done, viewer=viewer)
    for aid, (team, mon, is_learned) in done_primaries.items():
        if is_learned or aid in verified:
            buckets[(team, mon)].converted += 1

    totals = _Bucket()
    for b in buckets.values():
        _add(totals, b)
    rows = [_row(team, mon, b) for (team, mon), b in sorted(buckets.items())]
    return _result(rows, _row(ALL_TEAMS, "all", totals), session, today, team_id, since, until, viewer)


def _score_unscored(conn: Any, action_ids: list[int]) -> dict[int, int]:
    """The specificity of actions with no stored score (those written before migration 0014
    forgot the old scores, until their next write stores one), computed as the hook would."""
    scores: dict[int, int] = {}
    for start in range(0, len(action_ids), 900):  # SQLite's bound-parameter limit
        for aid, title, due, handle in conn.execute(
            select(Action.id, Action.title, Action.due_date, Person.handle)
            .join(Person, Person.id == Action.owner_id)
            .where(Action.id.in_(action_ids[start : start + 900]))
        ):
            scores[aid] = score_specificity(title, owner=handle, due_date=due)
    return scores


def _add(total: _Bucket, b: _Bucket) -> None:
    total.failures += b.failures
    total.repeats += b.repeats
    total.lessons_not_implemented += b.lessons_not_implemented
    total.hours_to_review += b.hours_to_review
    total.actions_due += b.actions_due
    total.actions_late += b.actions_late
    total.actions_overdue += b.actions_overdue
    total.days_overdue += b.days_overdue
    total.specificity_sum += b.specificity_sum
    total.specificity_count += b.specificity_count
    total.converted += b.converted
    total.reviews += b.reviews
    total.reviews_with_blame += b.reviews_with_blame
    total.gap_types.update(b.gap_types)


def _aware(value: dt.datetime) -> dt.datetime:
    """An aggregate (``min``) comes back without the column type: naive UTC, or text on SQLite."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _worked_at_review_date(session: Session, action_ids: set[int], *, viewer: Actor) -> set[int]:
    """Actions whose owner answered "yes" to the review-date check (see lessonloop.worker)."""
    from lessonloop.worker.checks import verified_action_ids  # the worker builds on the domain

    return verified_action_ids(session, viewer=viewer) & action_ids if action_ids else set()


def _passed_experiments(session: Session, action_ids: set[int]) -> set[int]:
    """Of ``action_ids``, those with a passed experiment: the latest observation meets the
    experiment's criterion."""
    conn = session.connection()
    experiments = {
        eid: (aid, comparator, threshold)
        for eid, aid, comparator, threshold in conn.execute(
            select(Experiment.id, Experiment.action_id, Experiment.comparator, Experiment.threshold)
        )
        if aid in action_ids
    }
    values: dict[int, list[tuple[dt.datetime, int, float]]] = defaultdict(list)
    for eid, at, oid, value in conn.execute(
        select(Observation.experiment_id, Observation.observed_at, Observation.id, Observation.value)
    ):
        if eid in experiments:
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
    viewer: Actor,
) -> dict[str, Any]:
    top = _top_failed_assumptions(session, viewer)
    return {
        "today": today.isoformat(),
        "filters": {
            "team_id": team_id,
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
        },
        "totals": _as_dict(totals),
        "months": [_as_dict(r) for r in rows],
        "top_failed_assumptions": top,
        "recognition": recognition_counts(session, team_id=team_id, since=since, until=until, viewer=viewer),
    }


_ROW_FIELDS = tuple(MetricsRow.__dataclass_fields__)


def _as_dict(row: MetricsRow) -> dict[str, Any]:
    """``dataclasses.asdict`` without its deep copy (thousands of rows at 100k failures)."""
    out = {name: getattr(row, name) for name in _ROW_FIELDS}
    out["gap_types"] = dict(row.gap_types)
    return out


#: How many failed assumptions, the most named first, a person's visible counts are read for
#: before the whole count is run instead (see :func:`_top_failed_assumptions`).
TOP_ASSUMPTION_CANDIDATES = 100


def _top_failed_assumptions(session: Session, viewer: Actor, limit: int = 10) -> list[dict[str, Any]]:
    """The failed assumptions named in the most reviews (with a viewer: reviews of failures they
    may see), most first, ties by id; the same order as ``list_assumptions(status="failed")``,
    but columns only and the top ``limit`` computed by the database.

    A person's count is read off ``review_assumptions`` alone: each row carries the visibility
    group of its review's failure (migration 0030, kept by the database), so the rows of the
    groups the person sees whole are counted from the index ``(assumption_id, visibility,
    team_key)``, and only those of their own failures outside those groups are found through
    their failures (decision 73; joining every review's failure to check it cost 170 ms at 1M).
    A review count over *all* reviews bounds what any person's count can be, so their counts are
    read for the most named assumptions first, ``2 × limit`` of them, then twice as many more,
    and so on: once the last of the top ``limit`` has more than the next candidate's bound,
    nothing further down can enter and the answer is exact. Past
    :data:`TOP_ASSUMPTION_CANDIDATES` candidates (a person who sees few of the reviews) the
    whole count runs instead.
    """
    conn = session.connection()
    count = func.count(review_assumptions.c.review_id)
    failed = (
        select(Assumption.id, Assumption.statement, count)
        .join(review_assumptions, review_assumptions.c.assumption_id == Assumption.id)
        .where(Assumption.status == AssumptionStatus.failed.value)
        .group_by(Assumption.id, Assumption.statement)
        .order_by(count.desc(), Assumption.id)
    )
    if not is_person(viewer):
        return _assumption_rows(conn.execute(failed.limit(limit)))
    ra = review_assumptions.c
    own = select(Review.id).where(Review.failure_id.in_(own_failures_outside_groups(viewer.rule_key())))
    visible = failed.where(or_(whole_groups(viewer, ra.visibility, ra.team_key), ra.review_id.in_(own)))
    bounds = conn.execute(failed.with_only_columns(Assumption.id, count)).all()
    counted: list[Any] = []
    read, batch = 0, 2 * limit
    while read < min(len(bounds), TOP_ASSUMPTION_CANDIDATES):
        ids = [int(aid) for aid, _n in bounds[read : min(read + batch, TOP_ASSUMPTION_CANDIDATES)]]
        read += len(ids)
        counted = sorted(
            [*counted, *conn.execute(visible.where(Assumption.id.in_(ids)))],
            key=lambda r: (-int(r[2]), int(r[0])),
        )[:limit]
        if read == len(bounds) or (len(counted) == limit and int(counted[-1][2]) > int(bounds[read][1])):
            return _assumption_rows(counted)
        batch *= 2
    return _assumption_rows(conn.execute(visible.limit(limit)))


def _assumption_rows(rows: Any) -> list[dict[str, Any]]:
    return [{"id": aid, "statement": statement, "failures": int(n)} for aid, statement, n in rows]


CSV_FIELDS = [f for f in MetricsRow.__dataclass_fields__ if f != "gap_types"] + [
    "gap_skill",
    "gap_process",
    "gap_context",
    "gap_resourcing",
]


def metrics_csv(result: dict[str, Any]) -> str:
    """One row per team and month, then the totals; team names are people's text, so the cells
    go through :func:`lessonloop.csvout.to_csv` (no spreadsheet formulas)."""
    rows = []
    for row in [*result["months"], result["totals"]]:
        flat = {k: v for k, v in row.items() if k != "gap_types"}
        for gap in ("skill", "process", "context", "resourcing"):
            flat[f"gap_{gap}"] = row["gap_types"].get(gap, 0)
        rows.append(flat)
    return to_csv(CSV_FIELDS, rows)
