"""Replay a simulated team-year day by day (injected clock, the worker's daily escalation check)
and compare escalations, owners, routes and notices with the truth planted in it, exactly."""

from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import select

from lessonloop.access.actor import Actor, SystemActor
from lessonloop.access.viewer import viewer_for
from lessonloop.escalations.models import Escalation
from lessonloop.notifications.models import Notification
from lessonloop.people.models import Person, Team
from lessonloop.signals.metrics import chart_metrics, compute_metrics
from lessonloop.store.engine import Database
from lessonloop.web.charts import monthly_totals
from tests.planted.generator import DAYS, START, TEAMS, PlannedEscalation, plan_year, replay


def test_the_year_escalates_exactly_what_was_planted(db: Database) -> None:
    year = plan_year(seed=15)
    started = time.perf_counter()
    ids = replay(db, year)
    print(f"\nreplayed {len(year.failures)} failures over 365 days in {time.perf_counter() - started:.1f} s")
    ref_of = {i: ref for ref, i in ids.items()}
    with db.unit() as s:
        handle = {pid: h for pid, h in s.execute(select(Person.id, Person.handle))}
        found: list[PlannedEscalation] = []
        pattern_of: dict[int, str] = {}
        for e in s.scalars(select(Escalation).order_by(Escalation.id)):
            pattern = e.subject_key if e.rule == "label" else ref_of[int(e.subject_key)]
            pattern_of[e.id] = pattern
            found.append(
                PlannedEscalation(
                    rule=e.rule,
                    pattern=pattern,
                    failures=frozenset(ref_of[i] for i in e.failure_ids),
                    owner=handle.get(e.owner_id) if e.owner_id else None,
                    route=e.support_route,
                    person=handle.get(e.person_id) if e.person_id else None,
                    opened_day=(e.opened_at - START).days,
                )
            )
            assert e.count == len(e.failure_ids)
        statuses = {(pattern_of[e.id], e.opened_at): e.status for e in s.scalars(select(Escalation))}
        notices = s.execute(
            select(
                Notification.person_id,
                Notification.dedupe_key,
                Notification.created_at,
                Notification.subject,
                Notification.body_text,
            ).where(Notification.kind == "escalation")
        ).all()
    # grew_days and resolved_day are checked through the notices and statuses below.
    expected = [
        PlannedEscalation(p.rule, p.pattern, p.failures, p.owner, p.route, p.person, p.opened_day)
        for p in year.escalations
    ]
    assert sorted(found, key=repr) == sorted(expected, key=repr)
    assert sorted(statuses.values()) == sorted(
        "resolved" if p.resolved_day is not None else "open" for p in year.escalations
    )
    got: set[tuple[str, str, str, int]] = set()
    planned_day = {f.ref: f.day for f in year.failures}
    for person_id, key, created_at, subject, body in notices:
        _, escalation_id, event, *joined = key.split(":")
        day = (created_at - START).days
        got.add((handle[person_id], event, pattern_of[int(escalation_id)], day))
        if joined:  # the growth is named by the newest failure that joined, detected that day
            assert planned_day[ref_of[int(joined[0])]] == day
        assert "Planted" not in subject + body  # notices carry no failure titles
    assert len(notices) == len(got)
    assert got == year.notices()


METRIC_FIELDS = (
    "failures",
    "repeats",
    "lessons_not_implemented",
    "actions_due",
    "actions_late",
    "actions_overdue",
    "median_hours_to_review",
)


def test_the_year_measures_exactly_what_was_planted(db: Database) -> None:
    """The learning metrics of every team and month equal the planted habits: on-time, late and
    never-closing teams, back-filled review and done dates, chains of repeats."""
    year = plan_year(seed=15)
    replay(db, year)
    today = (START + dt.timedelta(days=DAYS)).date()
    with db.unit() as s:
        result = compute_metrics(s, today=today, viewer=SystemActor("planted-year"))
    got = {(r["team"], r["month"]): {k: r[k] for k in METRIC_FIELDS} for r in result["months"]}
    truth = year.metrics_truth()
    assert got.keys() == truth.keys()
    for key in sorted(truth):
        assert got[key] == truth[key], key
    # The three habits show as planned in the totals of each team's year.
    late = {team: sum(int(v["actions_late"]) for (t, _), v in truth.items() if t == team) for team in TEAMS}
    due = {team: sum(int(v["actions_due"]) for (t, _), v in truth.items() if t == team) for team in TEAMS}
    assert late["Platform"] == 0 < due["Platform"]
    assert late["Growth"] == due["Growth"] > 0
    assert late["Support"] == due["Support"] > 0
    assert sum(int(v["lessons_not_implemented"]) for v in truth.values()) >= 2  # C3 and C4, through the chain


def test_the_charts_count_what_the_metrics_count(db: Database) -> None:
    """The dashboard's and team page's charts are computed by the database for their 12 months
    only (``chart_metrics``, decision 43): the same figures as the full metrics summed per month,
    for everyone, per team, and for each person's own view (every person of the planted year)."""
    year = plan_year(seed=15)
    replay(db, year)
    # Late in the planted year and a month after it: both ends of the 12-month window matter.
    days = [(START + dt.timedelta(days=d)).date() for d in (DAYS - 20, DAYS + 45)]
    with db.unit() as s:
        teams = {t.name: t.id for t in s.scalars(select(Team))}
        viewers: list[Actor] = [SystemActor("planted-year")]
        viewers += [viewer_for(s, p) for p in s.scalars(select(Person).order_by(Person.id))]
        compared = 0
        for today in days:
            for viewer in viewers:
                for team_id in (None, *teams.values()):
                    full = compute_metrics(s, team_id=team_id, today=today, viewer=viewer)
                    charts = chart_metrics(s, team_id=team_id, today=today, viewer=viewer)
                    assert monthly_totals(charts, today=today) == monthly_totals(full, today=today)
                    assert charts["totals"]["actions_overdue"] == full["totals"]["actions_overdue"]
                    compared += sum(t.failures + t.actions_due for t in monthly_totals(full, today=today))
    assert compared > 0  # the windows hold planted failures and actions, not only zeros


def test_a_different_seed_moves_the_noise_not_the_truth() -> None:
    one, other = plan_year(seed=1), plan_year(seed=2)
    assert one.escalations == other.escalations and one.notices() == other.notices()
    assert [f.day for f in one.failures] != [f.day for f in other.failures]
