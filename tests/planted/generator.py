"""A simulated team-year with planted truth: what the escalation check must find, exactly.

:func:`plan_year` lays out a year of failures for four teams — recurring causes that cross the
threshold (and some that never do), a chain of confirmed repeats, pairs of repeats that make no
chain, skill and process reviews, unreviewed failures, noise with one-off causes — and states, *by
construction* (not by running any of lessonloop's rules), which escalations must open, on which
day, with which failures, route, owner, and which notices the owner gets on which days; and the
learning metrics each team and month must show (:meth:`Year.metrics_truth`): failures, repeats,
lessons not implemented along chains of repeats, hours to review, and action drift, from teams
that close their actions on time (Platform), late (Growth) or never (Support), every review's
held date and every action's done date back-filled the way a team records them after the fact.

:func:`replay` plays the plan day by day into a database: failures logged at 10:00, repeats
confirmed and reviewed the same day (the review's held date back-filled), actions marked done at
16:00 on their planned day (the done date back-filled), planned resolutions made, and the
worker's escalation check run at 18:00 with an injected clock. ``tests/planted/test_year.py`` compares the outcome
with the truth.

The noise is drawn from a seeded ``random.Random``: a different seed moves the noise around and
never changes the truth (noise causes are one-off labels, noise repeats never chain, recurring
noise stays under the threshold in any window).
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import select

from lessonloop.access.actor import SystemActor
from lessonloop.accounts.models import Account
from lessonloop.actions.service import complete_action
from lessonloop.escalations.models import Escalation
from lessonloop.escalations.service import update_escalation
from lessonloop.failures.service import confirm_repeat, log_failure
from lessonloop.notifications.config import WorkerConfig
from lessonloop.people.service import add_member, add_person, add_team
from lessonloop.reviews.service import conduct_review, primary_action
from lessonloop.store.engine import Database
from lessonloop.worker.runner import run_once

PLANTER = SystemActor("planted-year")
START = dt.datetime(2025, 1, 6, tzinfo=dt.UTC)  # day 0; the year is days 0..364
LOG_HOUR, CHECK_HOUR = 10, 18
OD = "organisational-development-specialist"
COACH = "external-leadership-coach"

#: Team → handle → role. Platform has a lead; Growth only a team admin; Support only members.
TEAMS: dict[str, dict[str, str]] = {
    "Platform": {"ana": "lead", "ben": "member", "bo": "member"},
    "Growth": {"gus": "admin", "gia": "member"},
    "Support": {"sam": "member", "sol": "member"},
}
ORG_ADMINS = ("amara", "zed")  # amara's account is made first: she is the org admins' owner
DAYS = 365
DUE_AFTER_DAYS = 14  # a review's primary action is due 14 days after the failure's day
DONE_HOUR = 16
NO_TEAM = "(no team)"


@dataclass(frozen=True)
class Habits:
    """How a team follows through: hours from detection to the review being held, and days
    from detection to the primary action being done (None: never)."""

    review_after_hours: int
    done_after_days: int | None


#: Platform closes its actions on time, Growth late, Support never; failures without a team are
#: reviewed by the org admins, on time.
HABITS: dict[str | None, Habits] = {
    "Platform": Habits(review_after_hours=24, done_after_days=10),
    "Growth": Habits(review_after_hours=72, done_after_days=20),
    "Support": Habits(review_after_hours=120, done_after_days=None),
    None: Habits(review_after_hours=6, done_after_days=3),
}


@dataclass(frozen=True)
class PlannedFailure:
    ref: str
    day: int
    team: str | None
    label: str
    title: str
    people: tuple[str, ...] = ()
    repeat_of: str | None = None
    gap_type: str | None = None  # reviewed the same day with this gap type; None: never reviewed

    @property
    def habits(self) -> Habits:
        return HABITS[self.team]

    @property
    def due_day(self) -> int | None:
        return self.day + DUE_AFTER_DAYS if self.gap_type is not None else None

    @property
    def done_day(self) -> int | None:
        """The day its primary action is done, if that falls inside the replayed year."""
        after = self.habits.done_after_days
        if self.gap_type is None or after is None or self.day + after >= DAYS:
            return None
        return self.day + after


@dataclass(frozen=True)
class PlannedEscalation:
    rule: str  # "label" or "chain"
    pattern: str  # the label, or the ref of the chain's first failure
    failures: frozenset[str]
    owner: str | None
    route: str
    person: str | None
    opened_day: int
    grew_days: tuple[int, ...] = ()
    resolved_day: int | None = None


@dataclass
class Year:
    failures: list[PlannedFailure] = field(default_factory=list)
    escalations: list[PlannedEscalation] = field(default_factory=list)

    def notices(self) -> set[tuple[str, str, str, int]]:
        """(owner, "opened"/"grew", pattern, day) for every notice the owners must get."""
        out: set[tuple[str, str, str, int]] = set()
        for e in self.escalations:
            if e.owner is None:
                continue
            out.add((e.owner, "opened", e.pattern, e.opened_day))
            out |= {(e.owner, "grew", e.pattern, d) for d in e.grew_days}
        return out

    def on(self, day: int) -> Iterator[PlannedFailure]:
        return (f for f in self.failures if f.day == day)

    def metrics_truth(self, today_day: int = DAYS) -> dict[tuple[str, str], dict[str, object]]:
        """(team, "YYYY-MM") → the figures docs/metrics.md defines, from the plan alone.

        A failure counts in its detection month; an action in the month it is due. Due: due on
        or before today. Late: done after its due date, or still open after it. Overdue: still
        open after its due date. A repeat is a lesson not implemented when the failure it
        repeats, or one further up its chain, had its action done before the repeat was detected.
        """
        today = _at(today_day, 0).date()
        by_ref = {f.ref: f for f in self.failures}
        rows: dict[tuple[str, str], dict[str, object]] = {}
        hours: dict[tuple[str, str], list[float]] = {}

        def row(team: str | None, day: int) -> dict[str, object]:
            key = (team or NO_TEAM, _at(day, 0).strftime("%Y-%m"))
            return rows.setdefault(
                key,
                {
                    "failures": 0,
                    "repeats": 0,
                    "lessons_not_implemented": 0,
                    "actions_due": 0,
                    "actions_late": 0,
                    "actions_overdue": 0,
                },
            )

        def done_before(ref: str | None, day: int) -> bool:
            while ref is not None:
                done = by_ref[ref].done_day
                if done is not None and done < day:  # done at 16:00, the repeat logged at 10:00
                    return True
                ref = by_ref[ref].repeat_of
            return False

        for f in self.failures:
            r = row(f.team, f.day)
            r["failures"] = int(r["failures"]) + 1  # type: ignore[call-overload]
            if f.repeat_of is not None:
                r["repeats"] = int(r["repeats"]) + 1  # type: ignore[call-overload]
                if done_before(f.repeat_of, f.day):
                    r["lessons_not_implemented"] = int(r["lessons_not_implemented"]) + 1  # type: ignore[call-overload]
            if f.gap_type is not None:
                hours.setdefault((f.team or NO_TEAM, _at(f.day, 0).strftime("%Y-%m")), []).append(
                    float(f.habits.review_after_hours)
                )
            if f.due_day is None:
                continue
            due = _at(f.due_day, 0).date()
            if due > today:
                continue
            a = row(f.team, f.due_day)
            a["actions_due"] = int(a["actions_due"]) + 1  # type: ignore[call-overload]
            done = _at(f.done_day, 0).date() if f.done_day is not None else None
            if (done is not None and done > due) or (done is None and due < today):
                a["actions_late"] = int(a["actions_late"]) + 1  # type: ignore[call-overload]
            if done is None and due < today:
                a["actions_overdue"] = int(a["actions_overdue"]) + 1  # type: ignore[call-overload]
        for key, r in rows.items():
            spent = sorted(hours.get(key, []))
            r["median_hours_to_review"] = statistics.median(spent) if spent else None
        return rows


def plan_year(seed: int = 15) -> Year:
    rng = random.Random(seed)
    year = Year()
    words = ["queue", "cache", "invoice", "rollout", "schema", "banner", "export", "quota", "login"]
    count = 0

    def add(day: int, team: str | None, label: str, **extra: object) -> str:
        nonlocal count
        count += 1
        ref = f"F{count}"
        title = f"Planted {ref}: {rng.choice(words)} {rng.choice(words)} went wrong"
        year.failures.append(PlannedFailure(ref, day, team, label, title, **extra))  # type: ignore[arg-type]
        return ref

    def pattern(label: str, team: str | None, days: list[int], **extra: object) -> list[str]:
        return [add(d, team, label, **extra) for d in days]

    # 1. A recurring cause in a team with a lead, reviewed as a process gap: opens on its third
    #    failure (day 70), grows once (day 80). Owner: the lead.
    deploy = pattern("deploy-config", "Platform", [30, 50, 70, 80], gap_type="process")
    year.escalations.append(
        PlannedEscalation("label", "deploy-config", frozenset(deploy), "ana", OD, None, 70, (80,))
    )
    # 2. A chain of repeats in a team with only a team admin: C1 <- C2 <- C3, then C4 repeats C1.
    #    C1 is reviewed (Growth closes late: its action is done on day 60), so C2 (day 55) is a
    #    repeat before any fix, C3 (day 75, a repeat of C2) and C4 (day 100) lessons not implemented.
    c1 = add(40, "Growth", "chain-a", gap_type="process")
    c2 = add(55, "Growth", "chain-b", repeat_of=c1)
    c3 = add(75, "Growth", "chain-c", repeat_of=c2)
    c4 = add(100, "Growth", "chain-d", repeat_of=c1)
    year.escalations.append(
        PlannedEscalation("chain", c1, frozenset({c1, c2, c3, c4}), "gus", OD, None, 75, (100,))
    )
    # 3. Three repeats in Platform, each of a different failure: no chain, no escalation (the old
    #    "team repeating" rule escalated exactly this).
    for d in (120, 130, 140):
        first = add(d, "Platform", f"pair-{d}")
        add(d + 5, "Platform", f"pair-{d}-again", repeat_of=first)
    # 4. A skill pattern of one person (ben), reviewed as skill gaps: a coach, private to him.
    skill = pattern("estimation", "Platform", [100, 115, 130], people=("ben",), gap_type="skill")
    year.escalations.append(
        PlannedEscalation("label", "estimation", frozenset(skill), "ana", COACH, "ben", 130)
    )
    # 5. A cause in a team without lead or admin: the org admin owns it; resolved on day 60, and a
    #    fresh burst later opens a second escalation.
    first_burst = pattern("capacity", "Support", [20, 30, 45])
    year.escalations.append(
        PlannedEscalation("label", "capacity", frozenset(first_burst), "amara", OD, None, 45, resolved_day=60)
    )
    second_burst = pattern("capacity", "Support", [200, 210, 215])
    year.escalations.append(
        PlannedEscalation("label", "capacity", frozenset(second_burst), "amara", OD, None, 215)
    )
    # 6. The admin-only team's own cause: the team admin owns it.
    pricing = pattern("pricing-data", "Growth", [150, 160, 170], gap_type="context")
    year.escalations.append(
        PlannedEscalation("label", "pricing-data", frozenset(pricing), "gus", OD, None, 170)
    )
    # 7. One cause across three teams: the org admins own it.
    vendor = [
        add(260, "Platform", "vendor-api"),
        add(270, "Growth", "vendor-api"),
        add(280, "Support", "vendor-api"),
    ]
    year.escalations.append(
        PlannedEscalation("label", "vendor-api", frozenset(vendor), "amara", OD, None, 280)
    )
    # 8. Causes that recur but never 3 times in 90 days, and "no cause known" often.
    pattern("flaky-ci", "Platform", [10, 110, 210, 310])
    pattern("Uncategorized", "Support", [5, 6, 7, 8, 9])
    # 9. Noise: one-off causes on random days and teams, some reviewed, most not.
    for i in range(40):
        gap = rng.choice([None, None, None, "process", "context"])
        add(rng.randrange(0, 365), rng.choice([*TEAMS, None]), f"one-off-{i}", gap_type=gap)
    return year


def _at(day: int, hour: int) -> dt.datetime:
    return START + dt.timedelta(days=day, hours=hour)


def replay(db: Database, year: Year, *, days: int = DAYS) -> dict[str, int]:
    """Play ``year`` into ``db``; returns each planned failure's ref → its id."""
    with db.unit() as s:
        for team, members in TEAMS.items():
            t = add_team(s, name=team, viewer=PLANTER)
            for handle, role in members.items():
                person = add_person(s, name=handle.title(), handle=handle, viewer=PLANTER)
                add_member(s, team=t, person=person, role=role, viewer=PLANTER)
        for handle in ORG_ADMINS:
            person = add_person(s, name=handle.title(), handle=handle, viewer=PLANTER)
            s.add(Account(person=person, password_hash="!unusable", is_admin=True, failed_logins=0))
            s.flush()
    ids: dict[str, int] = {}
    actions: dict[str, int] = {}  # ref -> its primary action's id
    done_on: dict[int, list[str]] = {}
    for f in year.failures:
        if f.done_day is not None:
            done_on.setdefault(f.done_day, []).append(f.ref)
    resolutions = {e.resolved_day: e for e in year.escalations if e.resolved_day is not None}
    config = WorkerConfig()
    for day in range(days):
        with db.unit() as s:
            for planned in year.on(day):
                logged = log_failure(
                    s,
                    title=planned.title,
                    team=planned.team,
                    labels=[planned.label],
                    people=list(planned.people),
                    detected_at=_at(day, LOG_HOUR),
                    viewer=PLANTER,
                )
                ids[planned.ref] = logged.id
                if planned.repeat_of is not None:
                    confirm_repeat(s, logged.id, ids[planned.repeat_of], viewer=PLANTER)
                if planned.gap_type is not None:
                    owner = next(iter(TEAMS[planned.team])) if planned.team else ORG_ADMINS[0]
                    review = conduct_review(
                        s,
                        logged.id,
                        answers={
                            "held_at": _at(day, LOG_HOUR)
                            + dt.timedelta(hours=planned.habits.review_after_hours),
                            "assumption_text": "The usual path would hold",
                            "evidence": "It held last time",
                            "what_changed": "The load and the people changed",
                            "root_cause": f"A {planned.gap_type} gap",
                            "gap_type": planned.gap_type,
                            "gap_justification": "Planted by the simulated year",
                            "assumptions": [],
                        },
                        primary_action={
                            "title": "Add a dated check to the release checklist",
                            "owner": owner,
                            "due_date": (_at(day, 0) + dt.timedelta(days=14)).date().isoformat(),
                            "backfill": True,  # the simulated year is in the past
                        },
                        viewer=PLANTER,
                    )
                    action = primary_action(s, review, viewer=PLANTER)
                    assert action is not None
                    actions[planned.ref] = action.id
            for ref in done_on.get(day, []):
                complete_action(
                    s,
                    actions[ref],
                    evidence="Planted: the check is in the release checklist",
                    done_at=_at(day, DONE_HOUR),
                    viewer=PLANTER,
                )
            if day in resolutions:
                planned_e = resolutions[day]
                escalation = s.scalar(
                    select(Escalation).where(
                        Escalation.subject_key == planned_e.pattern.lower(), Escalation.status == "open"
                    )
                )
                assert escalation is not None, f"day {day}: nothing to resolve for {planned_e.pattern}"
                update_escalation(
                    s, escalation.id, status="resolved", resolution="Planted resolution", viewer=PLANTER
                )
        run_once(db, now=_at(day, CHECK_HOUR), config=config, only_jobs={"escalations"})
    return ids
