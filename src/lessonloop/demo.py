"""A realistic sample workspace, built through the services so every rule of the loop applies.

Four teams and eight people live through the situations that usually make framing failures as
learning signals harder: a missed high-visibility deadline, churn after a product change, a model
wrong in production, a broken cross-team hand-off (and its confirmed repeat), a fast feature that
lost data in rare cases (with its rollback plan), an approval skipped out of confidence, a
knowledge gap after turnover, a budget squeeze, an ambiguous metric and changed market
conditions. Failures sit at every stage of the loop, from *observed* to *learned*.

Every date is relative to today, so overdue actions stay overdue whenever the demo is built.
Only the moments the services stamp with "now" (a review's completion, an action's closing) are
moved back afterwards to when they would have happened; the history log records that change.

``build_demo(session)`` refuses a workspace that is not empty; ``workspace_is_empty(session)``
tells beforehand (``serve --demo-if-empty`` calls both).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lessonloop.access.actor import SystemActor
from lessonloop.accounts.crypto import verify_password
from lessonloop.accounts.models import Account
from lessonloop.accounts.service import account_of, create_account
from lessonloop.actions.models import Action
from lessonloop.actions.service import complete_action, drop_action
from lessonloop.coaching.service import start_plan, write_note
from lessonloop.errors import Conflict, LessonloopError
from lessonloop.escalations.service import check_escalations
from lessonloop.experiments.models import Experiment, Observation
from lessonloop.experiments.service import add_experiment, record_observation
from lessonloop.failures.models import Failure
from lessonloop.failures.service import confirm_repeat, log_failure, transition
from lessonloop.followthrough.checklists import create_checklist, revise_checklist
from lessonloop.followthrough.guardrails import add_guardrail
from lessonloop.followthrough.recognition import recognise
from lessonloop.lessons.models import Lesson
from lessonloop.lessons.service import create_lesson
from lessonloop.people.models import Person, Team
from lessonloop.people.service import add_member, add_person, add_team, get_person
from lessonloop.portability.workspace import workspace_is_empty
from lessonloop.reviews.models import Review
from lessonloop.reviews.service import conduct_review, primary_action, start_review, update_review

__all__ = ["DEMO_PASSWORD", "DemoSummary", "build_demo", "demo_logins", "workspace_is_empty"]

#: The demo loader acts as itself: a named system job, recorded in every record's history.
DEMO = SystemActor("demo")


@dataclass(frozen=True)
class DemoSummary:
    teams: int
    people: int
    failures: int
    reviews: int
    actions: int
    experiments: int
    observations: int
    lessons: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


TEAMS = {
    "Platform": "Runs the core services, the release train and the data stores.",
    "Growth": "Pricing, onboarding and acquisition experiments.",
    "Data Science": "Forecasts, models and the revenue reconciliation jobs.",
    "Customer Success": "Support, onboarding calls and the voice of the customer.",
}

# handle, name, [(team, role)]; e-mail is <handle>@example.com
PEOPLE: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("amara", "Amara Okafor", [("Platform", "admin")]),
    ("ben", "Ben Carter", [("Platform", "member")]),
    ("chen", "Chen Wei", [("Data Science", "lead")]),
    ("dana", "Dana Kowalski", [("Data Science", "member"), ("Growth", "member")]),
    ("elif", "Elif Demir", [("Growth", "lead")]),
    ("farid", "Farid Haddad", [("Growth", "member")]),
    ("grace", "Grace Liu", [("Customer Success", "lead")]),
    ("hugo", "Hugo Martins", [("Customer Success", "member"), ("Platform", "member")]),
]


# Every demo person can sign in to the web app with their handle and this password. It is
# printed by `lessonloop serve --demo-if-empty` (`make run`): a demo workspace is for trying
# lessonloop on one's own machine, never for real data.
DEMO_PASSWORD = "learn-from-failure"
DEMO_ORG_ADMINS = frozenset({"amara"})


def demo_logins(session: Session) -> list[tuple[str, str]]:
    """``(handle, what they can do)`` for each demo person, while the demo password still works.

    Empty when this is not the demo workspace or its first admin changed the password.
    """
    try:
        first = get_person(session, PEOPLE[0][0], viewer=DEMO)
    except LessonloopError:
        return []
    account = account_of(session, first)
    if account is None or not verify_password(account.password_hash, DEMO_PASSWORD):
        return []
    out = []
    for handle, _name, memberships in PEOPLE:
        roles = ", ".join(f"{role} of {team}" for team, role in memberships)
        admin = "org admin, " if handle in DEMO_ORG_ADMINS else ""
        out.append((handle, f"{admin}{roles}"))
    return out


class _Clock:
    """Dates relative to one "today" for the whole build."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        self.today = self.now.date()

    def day(self, offset: int) -> dt.date:
        return self.today + dt.timedelta(days=offset)

    def at(self, offset: int, hour: int = 10) -> dt.datetime:
        day = self.day(offset)
        return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)


def _review(
    session: Session,
    clock: _Clock,
    failure: Failure,
    *,
    completed: int,
    answers: Mapping[str, Any],
    primary: Mapping[str, Any],
    secondary: Sequence[Mapping[str, Any]] = (),
) -> tuple[Review, list[Action]]:
    """Conduct and complete a review, then date its completion ``completed`` days from today."""
    review = conduct_review(
        session,
        failure.id,
        answers={**answers, "held_at": clock.at(completed, 14)},
        # The demo's history happened before today: its actions are back-filled.
        primary_action={**primary, "backfill": True},
        secondary_actions=[{**a, "backfill": True} for a in secondary],
        viewer=DEMO,
    )
    review.completed_at = clock.at(completed, 16)
    main = primary_action(session, review, viewer=DEMO)
    assert main is not None
    others = list(
        session.scalars(
            select(Action).where(Action.review_id == review.id, Action.id != main.id).order_by(Action.id)
        )
    )
    return review, [main, *others]


def _done(session: Session, clock: _Clock, action: Action, evidence: str, *, on: int) -> None:
    complete_action(session, action.id, evidence=evidence, viewer=DEMO)
    action.closed_at = clock.at(on, 17)


def _dropped(session: Session, clock: _Clock, action: Action, reason: str, *, on: int) -> None:
    drop_action(session, action.id, reason=reason, viewer=DEMO)
    action.closed_at = clock.at(on, 17)


def _experiment(
    session: Session,
    clock: _Clock,
    action: Action,
    *,
    hypothesis: str,
    metric: str,
    comparator: str,
    threshold: float,
    start: int,
    end: int,
    observations: Sequence[tuple[int, float, str]] = (),
) -> Experiment:
    experiment = add_experiment(
        session,
        action_id=action.id,
        hypothesis=hypothesis,
        metric=metric,
        comparator=comparator,
        threshold=threshold,
        start_date=clock.day(start),
        end_date=clock.day(end),
        viewer=DEMO,
    )
    for offset, value, note in observations:
        record_observation(
            session, experiment.id, value=value, observed_at=clock.at(offset, 9), note=note, viewer=DEMO
        )
    return experiment


def _demo_account(session: Session, person: Person, *, admin: bool) -> None:
    """An account with :data:`DEMO_PASSWORD`. The first goes through the service (the password
    rules apply); the others share its hash: argon2 costs a noticeable fraction of a second per
    hash, and a shared salt hides nothing when the password is printed anyway."""
    first = session.scalar(select(Account).limit(1))
    if first is None:
        create_account(session, person, password=DEMO_PASSWORD, admin=admin, viewer=DEMO)
        return
    session.add(Account(person=person, password_hash=first.password_hash, is_admin=admin, failed_logins=0))
    session.flush()


def build_demo(session: Session) -> DemoSummary:
    """Fill an empty workspace with the sample; the caller commits. Refuses a non-empty one."""
    if not workspace_is_empty(session):
        raise Conflict(
            "the workspace is not empty; the demo only fills an empty one (use a new --database-url)",
            field="workspace",
        )
    clock = _Clock()
    teams: dict[str, Team] = {
        name: add_team(session, name=name, description=d, viewer=DEMO) for name, d in TEAMS.items()
    }
    people: dict[str, Person] = {}
    for handle, name, memberships in PEOPLE:
        people[handle] = add_person(
            session, name=name, handle=handle, email=f"{handle}@example.com", viewer=DEMO
        )
        for team, role in memberships:
            add_member(session, team=teams[team], person=people[handle], role=role, viewer=DEMO)
        _demo_account(session, people[handle], admin=handle in DEMO_ORG_ADMINS)

    # 1. A missed deadline on a high-visibility project → learned, with a passed experiment.
    launch = log_failure(
        session,
        title="Partner API launch slipped three weeks past the announced date",
        observation=(
            "The partner API was announced at the customer summit for the 1st of the month and "
            "shipped three weeks late. Two launch partners postponed their integrations."
        ),
        kind="missed-deadline",
        severity="high",
        visibility="org",
        team=teams["Platform"],
        reporter=people["amara"],
        people=[people["amara"], people["ben"]],
        labels=["launch", "dependencies", "high-visibility"],
        occurred_at=clock.at(-72),
        detected_at=clock.at(-70),
        impact="Public commitment missed; two launch partners delayed their integrations",
        impact_value=3,
        impact_unit="weeks",
        viewer=DEMO,
    )
    _, (launch_fix, launch_review_cadence) = _review(
        session,
        clock,
        launch,
        completed=-66,
        answers={
            "assumption_text": "The identity vendor's SSO change would land by sprint 3, as promised on a call",
            "evidence": "A verbal promise in a status call; no written date and no fallback",
            "what_changed": "The vendor re-planned after a reorg and moved our change to the next quarter",
            "root_cause": "An external dependency on the critical path had no dated commitment and no fallback",
            "gap_type": "process",
            "gap_justification": "Kickoff had no step asking dependencies for a dated commitment",
            "contributing_factors": [
                "Launch date announced before discovery finished",
                "No weekly review of critical-path dependencies",
            ],
            "assumptions": ["Vendors keep dates given verbally"],
            "reviewers": [people["amara"], people["elif"]],
        },
        primary={
            "title": "Add a dated-dependency check (written date + fallback) to the project kickoff checklist",
            "owner": "ben",
            "due_date": clock.day(-45),
        },
        secondary=[
            {
                "title": "Hold a 15-minute weekly dependency review for every high-visibility project",
                "owner": "amara",
                "due_date": clock.day(-40),
            }
        ],
    )
    _experiment(
        session,
        clock,
        launch_fix,
        hypothesis="With the kickoff check, at least 90% of critical-path dependencies have a written date",
        metric="share of critical-path dependencies with a dated commitment",
        comparator=">=",
        threshold=0.9,
        start=-44,
        end=-10,
        observations=[
            (-38, 0.62, "first kickoff with the new step"),
            (-24, 0.85, "two vendors still verbal"),
            (-12, 0.95, "one dependency pending, with a fallback"),
        ],
    )
    _done(
        session,
        clock,
        launch_fix,
        "Kickoff checklist v3 has the step; used at the last two kickoffs (links in the project wiki)",
        on=-46,
    )
    _done(
        session, clock, launch_review_cadence, "Review runs every Monday; notes in the launch channel", on=-39
    )
    transition(session, launch.id, "re-evaluating", viewer=DEMO)
    transition(session, launch.id, "learned", viewer=DEMO)

    # 2. Churn after a product change → acting; an overdue action; an inconclusive experiment.
    churn = log_failure(
        session,
        title="Starter churn spiked after the pricing page redesign",
        observation=(
            "Monthly churn on the Starter plan rose from 2.1% to 3.4% in the four weeks after the new "
            "pricing page went live. Exit surveys mention seat limits customers had not noticed."
        ),
        kind="churn-after-change",
        severity="high",
        visibility="org",
        team=teams["Growth"],
        reporter=people["farid"],
        people=[people["farid"], people["elif"], people["grace"]],
        labels=["pricing", "churn"],
        occurred_at=clock.at(-48),
        detected_at=clock.at(-40),
        impact="Starter churn up 1.3 percentage points",
        impact_value=1.3,
        impact_unit="percentage points",
        viewer=DEMO,
    )
    _, (churn_fix, _calls) = _review(
        session,
        clock,
        churn,
        completed=-36,
        answers={
            "assumption_text": "Customers read the plan comparison table before upgrading",
            "evidence": "A one-week A/B test on sign-up conversion; nothing on retention",
            "what_changed": "The redesign moved the seat limits below the fold",
            "root_cause": "The change was judged on conversion alone; its effect on retention was never measured",
            "gap_type": "context",
            "gap_justification": "Retention data was not available to the team at launch time",
            "contributing_factors": ["Experiment ran for one week only"],
            "assumptions": ["A conversion uplift means the change is good"],
            "reviewers": [people["elif"], people["grace"]],
        },
        primary={
            "title": "Add a 30-day retention guardrail metric to every pricing experiment",
            "owner": "farid",
            "due_date": clock.day(10),
        },
        secondary=[
            {
                "title": "Call the 20 churned Starter accounts and log their reasons in the CRM",
                "owner": "grace",
                "due_date": clock.day(-3),
            }
        ],
    )
    _experiment(
        session,
        clock,
        churn_fix,
        hypothesis="Showing seat limits above the fold brings Starter churn back to 2.5% or less",
        metric="Starter monthly churn (%)",
        comparator="<=",
        threshold=2.5,
        start=-2,
        end=26,
    )

    # 3. A model wrong in production → re-evaluating; the fix's experiment failed.
    forecast = log_failure(
        session,
        title="Demand forecast under-predicted holiday volume by 30%",
        observation=(
            "The warehouse staffing forecast missed peak-week volume by 30%. Overtime, late "
            "shipments and a week of support backlog followed."
        ),
        kind="wrong-assumption",
        severity="high",
        visibility="team",
        team=teams["Data Science"],
        reporter=people["chen"],
        people=[people["chen"], people["dana"]],
        labels=["forecasting", "model"],
        occurred_at=clock.at(-58),
        detected_at=clock.at(-55),
        impact="30% under-forecast in peak week",
        impact_value=30,
        impact_unit="%",
        viewer=DEMO,
    )
    forecast_review, (forecast_fix,) = _review(
        session,
        clock,
        forecast,
        completed=-52,
        answers={
            "assumption_text": "Seasonality is stable from one year to the next",
            "evidence": "Backtests covered three calm years only",
            "what_changed": "Buying moved two weeks earlier after a competitor's early sales",
            "root_cause": "The model's seasonality was never re-fitted and nothing alerted on drift",
            "gap_type": "skill",
            "gap_justification": "Nobody on the team had set up drift monitoring for a production model",
            "contributing_factors": ["Model owner on leave during the peak"],
            "assumptions": ["Seasonality is stable year to year"],
            "reviewers": [people["chen"]],
        },
        primary={
            "title": "Add a weekly drift check that alerts when forecast error exceeds 15%",
            "owner": "dana",
            "due_date": clock.day(-25),
        },
    )
    _experiment(
        session,
        clock,
        forecast_fix,
        hypothesis="Re-fitting seasonality monthly keeps the weekly forecast error at 10% or less",
        metric="weekly forecast MAPE (%)",
        comparator="<=",
        threshold=10,
        start=-24,
        end=-2,
        observations=[
            (-17, 18.0, "first monthly re-fit"),
            (-9, 14.5, "better, still above target"),
            (-3, 12.1, "promotions not in the features yet"),
        ],
    )
    _done(
        session,
        clock,
        forecast_fix,
        "Drift alert live in the ML platform since week 32; it fired once and was triaged",
        on=-26,
    )
    transition(session, forecast.id, "re-evaluating", viewer=DEMO)

    # 4. A broken cross-team hand-off → learned ... and later repeated.
    handoff = log_failure(
        session,
        title="Release notes never reached support; tickets doubled",
        observation=(
            "The export redesign shipped without a hand-off to support. Tickets about the missing "
            "CSV button doubled for a week before support found the change."
        ),
        kind="handoff-breakdown",
        severity="medium",
        visibility="org",
        team=teams["Customer Success"],
        reporter=people["grace"],
        people=[people["grace"], people["hugo"], people["ben"]],
        labels=["handoff", "support", "release"],
        occurred_at=clock.at(-92),
        detected_at=clock.at(-90),
        impact="Support tickets doubled for a week",
        impact_value=2,
        impact_unit="x tickets",
        viewer=DEMO,
    )
    _, (handoff_fix,) = _review(
        session,
        clock,
        handoff,
        completed=-86,
        answers={
            "assumption_text": "Support reads the release channel",
            "evidence": "Nobody had checked; the channel had 40 unread release posts",
            "what_changed": "The release process moved to a new tool without the support notification step",
            "root_cause": "The hand-off had no named receiver and no acknowledgment",
            "gap_type": "process",
            "gap_justification": "The release checklist never named who on support receives a change",
            "contributing_factors": ["Tool migration silently dropped an automation"],
            "assumptions": ["Posting in a channel is a hand-off"],
            "reviewers": [people["grace"], people["amara"]],
        },
        primary={
            "title": "Release checklist: a named support receiver acknowledges every user-visible change",
            "owner": "hugo",
            "due_date": clock.day(-75),
        },
    )
    _done(
        session,
        clock,
        handoff_fix,
        "Checklist step live; 6 of 6 releases since carried a support acknowledgment",
        on=-76,
    )
    transition(session, handoff.id, "re-evaluating", viewer=DEMO)
    transition(session, handoff.id, "learned", viewer=DEMO)
    handoff_lesson = create_lesson(
        session,
        title="A hand-off needs a named receiver and an acknowledgment",
        learned=(
            "Posting a change in a channel is not a hand-off. Each user-visible change needs one named "
            "receiver on the other team, who confirms before launch."
        ),
        changed="Release checklist step: support receiver named and acknowledged before launch.",
        author=people["grace"],
        failures=[handoff.id],
        audience=list(teams.values()),
        published_at=clock.at(-72),
        viewer=DEMO,
    )

    # 5. A fast feature that lost data in rare cases → acting, rollback plan done, patch tested.
    sync = log_failure(
        session,
        title="Offline sync lost edits in rare conflict cases",
        observation=(
            "The new offline sync made saves four times faster, but when two devices edited the same "
            "note offline, the later sync silently dropped the other device's edits. 37 users were "
            "affected over two weeks."
        ),
        kind="wrong-assumption",
        severity="critical",
        visibility="org",
        team=teams["Platform"],
        reporter=people["ben"],
        people=[people["ben"], people["amara"]],
        labels=["data-loss", "sync", "rollback"],
        occurred_at=clock.at(-30),
        detected_at=clock.at(-25),
        impact="37 users lost edits",
        impact_value=37,
        impact_unit="users",
        viewer=DEMO,
    )
    _, (sync_fix, sync_rollback) = _review(
        session,
        clock,
        sync,
        completed=-23,
        answers={
            "assumption_text": "Two devices almost never edit the same note while offline",
            "evidence": "Telemetry from the old sync, which serialised edits and so hid conflicts",
            "what_changed": "The new sync writes in parallel, so last-write-wins now discards edits",
            "root_cause": "Last-write-wins conflict resolution applied to concurrent offline edits, with no test for them",
            "gap_type": "process",
            "gap_justification": "Concurrency edge cases were not part of the release test plan",
            "contributing_factors": ["The speed goal dominated the design review"],
            "assumptions": ["Concurrent offline edits are rare"],
            "reviewers": [people["amara"], people["chen"]],
        },
        primary={
            "title": "Patch sync to merge concurrent edits; add a concurrent-device case to the release checklist",
            "owner": "ben",
            "due_date": clock.day(5),
        },
        secondary=[
            {
                "title": "Rollback plan: keep the old sync behind a flag and switch affected accounts back",
                "owner": "amara",
                "due_date": clock.day(-22),
            }
        ],
    )
    _done(
        session,
        clock,
        sync_rollback,
        "Flag sync_v1_fallback on for the 37 affected accounts within 2 hours; runbook linked in the review",
        on=-22,
    )
    _experiment(
        session,
        clock,
        sync_fix,
        hypothesis="The patched merge loses no edits in 10,000 fuzzed concurrent-edit runs",
        metric="edits lost per 10,000 fuzzed runs",
        comparator="<=",
        threshold=0,
        start=-10,
        end=5,
        observations=[(-8, 3, "first patch: deletes still race"), (-2, 0, "second patch")],
    )

    # 6. Over-confidence skipped an approval → in review, draft half done.
    migration = log_failure(
        session,
        title="Schema migration shipped without the DBA sign-off",
        observation=(
            "A column-type change marked 'trivial' was merged without the DBA review. It locked the "
            "orders table for 11 minutes at peak."
        ),
        kind="skipped-check",
        severity="high",
        visibility="team",
        team=teams["Platform"],
        reporter=people["amara"],
        people=[people["ben"]],
        labels=["approvals", "database"],
        occurred_at=clock.at(-12),
        detected_at=clock.at(-12),
        impact="Orders table locked at peak",
        impact_value=11,
        impact_unit="minutes",
        viewer=DEMO,
    )
    draft = start_review(session, migration.id, held_at=clock.at(-9, 14), viewer=DEMO)
    update_review(
        session,
        draft.id,
        {
            "assumption_text": "A type change on a small column cannot lock a table for long",
            "what_changed": "The orders table had grown tenfold since the last such change",
            "reviewers": [people["amara"]],
        },
        viewer=DEMO,
    )

    # 7. Turnover exposed a knowledge gap → acting, primary action overdue.
    reconciliation = log_failure(
        session,
        title="Revenue reconciliation stalled after its only maintainer left",
        observation=(
            "The month-end reconciliation job failed the first month after its only maintainer left. "
            "Nobody knew how to re-run it and finance closed the books four days late."
        ),
        kind="knowledge-gap",
        severity="medium",
        visibility="team",
        team=teams["Data Science"],
        reporter=people["dana"],
        people=[people["dana"], people["chen"]],
        labels=["turnover", "documentation"],
        occurred_at=clock.at(-33),
        detected_at=clock.at(-32),
        impact="Books closed four days late",
        impact_value=4,
        impact_unit="days",
        viewer=DEMO,
    )
    _review(
        session,
        clock,
        reconciliation,
        completed=-29,
        answers={
            "assumption_text": "The job runs by itself, so its documentation can wait",
            "evidence": "It had not failed in 18 months",
            "what_changed": "Its maintainer left and an upstream schema changed in the same month",
            "root_cause": "Knowledge of a critical job lived in one person, with no runbook",
            "gap_type": "process",
            "gap_justification": "Leaving had no hand-over step for the jobs a person maintains",
            "assumptions": ["Stable jobs need no runbook"],
            "reviewers": [people["chen"]],
        },
        primary={
            "title": "Write a runbook and pair a second maintainer on the reconciliation job",
            "owner": "dana",
            "due_date": clock.day(-6),
        },
    )

    # 8. A budget squeeze removed a safety check → learned; the primary action was dropped.
    loadtest = log_failure(
        session,
        title="Load testing cut from the quarter's budget; checkout fell over at peak",
        observation=(
            "To absorb a 15% budget cut, the load-testing environment was switched off for the quarter. "
            "The first peak sale took checkout down for 25 minutes."
        ),
        kind="resource-squeeze",
        severity="high",
        visibility="org",
        team=teams["Platform"],
        reporter=people["amara"],
        people=[people["amara"], people["ben"], people["hugo"]],
        labels=["budget", "load-testing", "checkout"],
        occurred_at=clock.at(-120),
        detected_at=clock.at(-120),
        impact="Checkout down at peak",
        impact_value=25,
        impact_unit="minutes",
        viewer=DEMO,
    )
    _, (env_fix, peak_tests) = _review(
        session,
        clock,
        loadtest,
        completed=-116,
        answers={
            "assumption_text": "Last year's load test still holds",
            "evidence": "None recent: traffic had grown 40% since that test",
            "what_changed": "A budget cut removed the load-testing environment",
            "root_cause": "A cost cut removed a safety check without anyone weighing the risk it covered",
            "gap_type": "resourcing",
            "gap_justification": "The check was cut for money, not skipped for lack of skill or process",
            "contributing_factors": ["Budget decisions made line by line, without risk owners"],
            "assumptions": ["Last year's load test still holds"],
            "reviewers": [people["amara"], people["elif"]],
        },
        primary={
            "title": "Rebuild a permanent load-testing environment",
            "owner": "ben",
            "due_date": clock.day(-100),
        },
        secondary=[
            {
                "title": "Run a load test in shared staging before every planned peak",
                "owner": "hugo",
                "due_date": clock.day(-95),
            }
        ],
    )
    _dropped(
        session,
        clock,
        env_fix,
        "Superseded: shared staging can carry peak-size load tests, so a permanent environment "
        "would cost more than the risk it removes (see the secondary action)",
        on=-98,
    )
    _done(session, clock, peak_tests, "Load tests ran before the last three peaks; reports attached", on=-96)
    transition(session, loadtest.id, "re-evaluating", viewer=DEMO)
    transition(session, loadtest.id, "learned", viewer=DEMO)

    # 9. An ambiguous metric → just observed.
    log_failure(
        session,
        title="'Active users' rose while paying teams quietly shrank",
        observation=(
            "The growth dashboard counted any login as active. Active users rose 4% in a quarter in "
            "which paying teams fell 6%; nobody noticed for two months."
        ),
        kind="ambiguous-metric",
        severity="medium",
        visibility="team",
        team=teams["Growth"],
        reporter=people["elif"],
        people=[people["elif"], people["dana"]],
        labels=["metrics", "dashboard"],
        occurred_at=clock.at(-60),
        detected_at=clock.at(-5),
        impact="Paying teams down 6% unnoticed",
        impact_value=6,
        impact_unit="%",
        viewer=DEMO,
    )

    # 10. Changed market conditions → in review, a draft just started.
    market = log_failure(
        session,
        title="Outbound playbook stopped converting after a competitor's free tier",
        observation=(
            "Outbound reply rates fell from 9% to 3% in six weeks after a competitor launched a free "
            "tier. The playbook that worked for two years no longer does."
        ),
        kind="changed-conditions",
        severity="medium",
        visibility="org",
        team=teams["Growth"],
        reporter=people["farid"],
        people=[people["farid"]],
        labels=["market", "sales"],
        occurred_at=clock.at(-42),
        detected_at=clock.at(-20),
        impact="Reply rate down from 9% to 3%",
        impact_value=6,
        impact_unit="percentage points",
        viewer=DEMO,
    )
    market_review = start_review(session, market.id, held_at=clock.at(-2, 11), viewer=DEMO)
    update_review(
        session,
        market_review.id,
        {"what_changed": "A competitor launched a free tier aimed at our Starter customers"},
        viewer=DEMO,
    )

    # 4b. The hand-off broke again despite the lesson: a confirmed repeat.
    repeat = log_failure(
        session,
        title="Hand-off gap again: data migration notice never reached support",
        observation=(
            "The billing data migration went out with its notice posted only in the platform channel; "
            "support learned of it from customers."
        ),
        kind="handoff-breakdown",
        severity="medium",
        visibility="org",
        team=teams["Customer Success"],
        reporter=people["hugo"],
        people=[people["hugo"], people["grace"]],
        labels=["handoff", "support"],
        occurred_at=clock.at(-9),
        detected_at=clock.at(-8),
        impact="A day of confused customer calls",
        viewer=DEMO,
    )
    confirm_repeat(session, repeat.id, handoff.id, viewer=DEMO)
    # A third hand-off failure in the window: the pattern persists, so an escalation opens (below).
    log_failure(
        session,
        title="Enterprise renewal hand-off from sales lost the onboarding promises",
        observation=(
            "Sales promised a dedicated onboarding call at renewal; the note stayed in the CRM and the "
            "customer success manager heard of it from the customer's complaint."
        ),
        kind="handoff-breakdown",
        severity="high",
        visibility="org",
        team=teams["Customer Success"],
        reporter=people["grace"],
        people=[people["grace"]],
        labels=["handoff", "sales"],
        occurred_at=clock.at(-41),
        detected_at=clock.at(-40),
        impact="An enterprise renewal at risk",
        viewer=DEMO,
    )

    # Lessons with audiences (the hand-off lesson was published above, before its repeat).
    create_lesson(
        session,
        title="Dated commitments for every external dependency",
        learned=(
            "A verbal date from a vendor is a hope, not a plan. High-visibility launches need a written "
            "date and a fallback for each dependency on the critical path."
        ),
        changed="Kickoff checklist asks for a dated commitment and a fallback per dependency; weekly review.",
        author=people["amara"],
        failures=[launch.id],
        audience=[teams["Platform"], teams["Growth"]],
        published_at=clock.at(-30),
        viewer=DEMO,
    )
    create_lesson(
        session,
        title="Price the risk before cutting a safety check",
        learned=(
            "Cutting a check saves its cost and buys its risk. Budget cuts to testing need the risk "
            "owner's sign-off, not just finance's."
        ),
        changed="Budget reviews list the safety checks each cut removes, with a risk owner.",
        author=people["amara"],
        failures=[loadtest.id],
        audience=[teams["Platform"]],
        published_at=clock.at(-90),
        viewer=DEMO,
    )
    create_lesson(
        session,
        title="Backtest forecasts against the last two peak seasons",
        learned="A calm-year backtest says little about a peak; drift alerts catch what backtests miss.",
        changed="Draft: forecast release checklist to include two peak-season backtests.",
        author=people["chen"],
        failures=[forecast.id],
        audience=[teams["Data Science"]],
        viewer=DEMO,
    )
    # The repeat links back to the lesson it shows did not stick.
    handoff_lesson.failures = [*handoff_lesson.failures, repeat]

    # Private coaching: the Data Science lead coaches the member whose skill gap the forecast
    # review found (only the two of them can read these).
    write_note(
        session,
        author=people["chen"],
        subject=people["dana"],
        body=(
            "The drift check you set up caught the spring shift two weeks early. Next: pair with me on "
            "the backtest design so peak seasons are covered before a model ships."
        ),
        viewer=DEMO,
    )
    start_plan(
        session,
        author=people["chen"],
        review=forecast_review,
        person=people["dana"],
        goals="Run production-model monitoring end to end: drift alerts, backtests over peak seasons.",
        support="Pairing with Chen every second week; the monitoring course on the learning budget.",
        review_date=clock.day(21),
        viewer=DEMO,
    )

    # Follow-through: the checklist remembers the failures that changed it, a short-term
    # guardrail with an expiry and a rollback plan, and recognition for learning (not only wins).
    kickoff = create_checklist(
        session,
        name="Project kickoff",
        items=["Scope and success metric agreed", "Owners named for each workstream"],
        author=people["amara"],
        viewer=DEMO,
    )
    revise_checklist(
        session,
        kickoff,
        items=[
            "Scope and success metric agreed",
            "Owners named for each workstream",
            "Each external dependency has a written date and a fallback",
        ],
        reason="The partner API slipped on a vendor date given only verbally.",
        failure_id=launch.id,
        author=people["amara"],
        viewer=DEMO,
    )
    add_guardrail(
        session,
        title="Second approver on pricing changes",
        owner=people["elif"],
        team=teams["Growth"],
        reason="Churn after the pricing-page change; until the retention guardrail metric is in place.",
        rollback_plan="Retire once every pricing experiment reports 30-day retention automatically.",
        expires_on=clock.day(30),
        failure_id=churn.id,
        viewer=DEMO,
    )
    recognise(
        session,
        person=people["dana"],
        kind="candid-review",
        by=people["chen"],
        note="Walked us through the forecast's assumptions without hedging.",
        failure_id=forecast.id,
        viewer=DEMO,
    )
    recognise(
        session,
        person=people["ben"],
        kind="validated-fix",
        by=people["amara"],
        note="The concurrent-edit test case caught a regression before release.",
        failure_id=sync.id,
        viewer=DEMO,
    )
    recognise(
        session,
        person=people["grace"],
        kind="shared-lesson",
        by=people["hugo"],
        note="The hand-off lesson reached Platform and Growth the same week.",
        viewer=DEMO,
    )

    # Re-evaluate: three hand-off failures in 90 days open an escalation with a support route.
    check_escalations(session, now=clock.at(0), viewer=DEMO)

    # Backdate creation to when each failure was detected (creation time is not in the history).
    for failure in session.scalars(select(Failure)):
        failure.created_at = failure.detected_at
    session.flush()
    return summarize(session)


def summarize(session: Session) -> DemoSummary:
    def count(model: type[Any]) -> int:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)

    return DemoSummary(
        teams=count(Team),
        people=count(Person),
        failures=count(Failure),
        reviews=count(Review),
        actions=count(Action),
        experiments=count(Experiment),
        observations=count(Observation),
        lessons=count(Lesson),
    )
