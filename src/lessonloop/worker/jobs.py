"""The built-in jobs. Each finds its triggers by date and enqueues with a key naming the event,
so running it again (a restart, a second worker, a pass every minute) sends nothing twice.

Each also names the record (``record_id``): the text stored here is only the fallback, the one
sent and shown is rebuilt from the record at that moment (:mod:`lessonloop.worker.sendtime`).

Triggers older than ``catch_up_days`` are ignored: a worker started for the first time on a
year of history does not flood everyone with last spring's reminders.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from lessonloop.access.policy import can_see
from lessonloop.access.viewer import Viewer, viewer_for
from lessonloop.actions.models import Action, ActionStatus
from lessonloop.escalations.service import EscalationPolicy, check_escalations
from lessonloop.experiments.models import Experiment
from lessonloop.failures.models import Failure
from lessonloop.notifications.service import enqueue
from lessonloop.search.service import keep_search_lists
from lessonloop.worker.models import ActionCheck, ReflectionSession
from lessonloop.worker.reflections import propose_session
from lessonloop.worker.scheduler import JobContext, job


def _days(n: int) -> str:
    return "1 day" if abs(n) == 1 else f"{abs(n)} days"


class _Readers:
    """Who may read what a job is about to send: a reminder names an action and, through it, its
    failure, so it goes out only to an owner who may see that failure now (the calendar feed
    leaves such an action out the same way). Viewers are built once per person per job run."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.viewers: dict[int, Viewer] = {}

    def may_read(self, person_id: int, record: object) -> bool:
        viewer = self.viewers.get(person_id)
        if viewer is None:
            viewer = self.viewers[person_id] = viewer_for(self.session, person_id)
        return can_see(self.session, viewer, record)


@job("action-reminders", description="Remind owners N days before an action is due, and when overdue")
def action_reminders(ctx: JobContext) -> str:
    today = ctx.today
    horizon = max(ctx.config.reminder_days, default=0)
    rows = ctx.session.scalars(
        select(Action).where(
            Action.status == ActionStatus.open.value,
            Action.due_date >= today - dt.timedelta(days=ctx.config.catch_up_days),
            Action.due_date <= today + dt.timedelta(days=horizon),
        )
    )
    sent = 0
    readers = _Readers(ctx.session)
    for action in rows:
        if not readers.may_read(action.owner_id, action):
            continue
        left = (action.due_date - today).days
        due = action.due_date.isoformat()
        if left >= 0:
            # The smallest configured offset that has been reached: one reminder per offset.
            reached = [n for n in ctx.config.reminder_days if left <= n]
            if not reached:
                continue
            offset = min(reached)
            key = f"reminder:action:{action.id}:due-{offset}d:{due}"
            when = "today" if left == 0 else f"in {_days(left)}"
            subject = f"Action #{action.id} is due {when}: {action.title}"
        else:
            late = -left
            repeat = ctx.config.overdue_repeat_days
            round_ = late // repeat if repeat > 0 else 0
            key = f"reminder:action:{action.id}:overdue:{due}:{round_}"
            subject = f"Action #{action.id} is overdue by {_days(late)}: {action.title}"
        body = (
            f"{subject}\n\nDue {due}, review on {action.review_date.isoformat()}.\n"
            f"When it is done: lessonloop action done {action.id} --evidence TEXT\n"
            f"If the date no longer holds, reschedule it rather than let it drift."
        )
        if enqueue(
            ctx.session,
            person_id=action.owner_id,
            kind="reminder",
            subject=subject,
            body_text=body,
            dedupe_key=key,
            record_id=action.id,
            now=ctx.now,
            viewer=ctx.actor,
        ):
            sent += 1
    return f"{sent} reminders"


@job("review-checks", description='On an action\'s review date, ask its owner "did this work?"')
def review_checks(ctx: JobContext) -> str:
    today = ctx.today
    answered = select(ActionCheck.action_id)
    rows = ctx.session.scalars(
        select(Action).where(
            Action.status != ActionStatus.dropped.value,
            Action.review_date <= today,
            Action.review_date >= today - dt.timedelta(days=ctx.config.catch_up_days),
            Action.id.not_in(answered),
        )
    )
    sent = 0
    readers = _Readers(ctx.session)
    for action in rows:
        if not readers.may_read(action.owner_id, action):
            continue
        subject = f"Did this work? Action #{action.id}: {action.title}"
        body = (
            f"Today ({action.review_date.isoformat()}) is the review date of action #{action.id}, "
            f"“{action.title}” (status: {action.status}).\n\nDid it work? Answer with:\n"
            f'  lessonloop action check {action.id} --worked yes|no|partly --note "what you saw"'
        )
        if enqueue(
            ctx.session,
            person_id=action.owner_id,
            kind="review-check",
            subject=subject,
            body_text=body,
            dedupe_key=f"review-check:action:{action.id}:{action.review_date.isoformat()}",
            record_id=action.id,
            now=ctx.now,
            viewer=ctx.actor,
        ):
            sent += 1
    return f"{sent} review prompts"


@job("experiment-ends", description="When an experiment ends, ask its action owner for observations")
def experiment_ends(ctx: JobContext) -> str:
    today = ctx.today
    rows = ctx.session.execute(
        select(Experiment, Action.owner_id)
        .join(Action, Action.id == Experiment.action_id)
        .where(
            Experiment.end_date <= today,
            Experiment.end_date >= today - dt.timedelta(days=ctx.config.catch_up_days),
        )
    )
    sent = 0
    readers = _Readers(ctx.session)
    for experiment, owner_id in rows:
        if not readers.may_read(owner_id, experiment):
            continue
        count = len(experiment.observations)
        subject = f"Experiment #{experiment.id} has ended: record what you observed"
        body = (
            f"The experiment “{experiment.hypothesis}” ended on {experiment.end_date.isoformat()}.\n"
            f"Metric: {experiment.metric} {experiment.comparator} {experiment.threshold:g} "
            f"({count} observation{'s' if count != 1 else ''} so far).\n\n"
            f"Record the latest value: lessonloop experiment observe {experiment.id} VALUE"
        )
        if enqueue(
            ctx.session,
            person_id=owner_id,
            kind="experiment-end",
            subject=subject,
            body_text=body,
            dedupe_key=f"experiment-end:experiment:{experiment.id}:{experiment.end_date.isoformat()}",
            record_id=experiment.id,
            now=ctx.now,
            viewer=ctx.actor,
        ):
            sent += 1
    return f"{sent} observation requests"


@job("escalations", every="daily", description="Check for persistent patterns; tell the owner")
def escalations(ctx: JobContext) -> str:
    """The owner hears of each escalation opened or grown from ``check_escalations`` itself, the
    same notice (and dedupe key) as when logging a failure completes the pattern."""
    policy = EscalationPolicy.from_settings(ctx.settings)
    touched = check_escalations(ctx.session, now=ctx.now, policy=policy, viewer=ctx.actor)
    return f"{len(touched)} escalations opened or grown"


@job("search-lists", description="Build search's postings after many writes (PostgreSQL)")
def search_lists(ctx: JobContext) -> str:
    """Every pass: cheap when little was written (two counts); after an import, or once more
    than a few hundred documents were written since, it builds every term's postings again
    (decision 72), and searches stay exact meanwhile by scoring the written documents directly
    or ranking every match."""
    progress = keep_search_lists(ctx.session, viewer=ctx.actor)
    if progress.rebuilt:
        return f"built the postings of {progress.terms} terms ({progress.postings} entries)"
    return f"{progress.waiting} documents written since the postings of {progress.terms} terms were built"


@job("reflection-sessions", description="Propose a dated reflection session after a high/critical failure")
def reflection_sessions(ctx: JobContext) -> str:
    since = ctx.now - dt.timedelta(days=ctx.config.catch_up_days)
    planned = select(ReflectionSession.failure_id)
    failures = ctx.session.scalars(
        select(Failure).where(
            Failure.severity.in_(ctx.config.reflection_severities),
            Failure.detected_at >= since,
            Failure.detected_at <= ctx.now,
            Failure.id.not_in(planned),
        )
    )
    made = 0
    for failure in failures:
        when = max(
            failure.detected_at.date() + dt.timedelta(days=ctx.config.reflection_within_days), ctx.today
        )
        # Only someone who may see the failure runs (and hears of) it: the title names the failure.
        proposed = propose_session(ctx.session, failure, when=when, viewer=ctx.actor)
        facilitator = proposed.facilitator_id
        made += 1
        if facilitator is not None:
            enqueue(
                ctx.session,
                person_id=facilitator,
                kind="reflection",
                subject=f"Hold a reflection session on failure #{failure.id} by {when.isoformat()}",
                body_text=(
                    f"Failure #{failure.id} “{failure.title}” was {failure.severity}. A reflection "
                    f"session is proposed for {when.isoformat()} (it is in your calendar).\n"
                    f"Run the review: lessonloop review {failure.id}"
                ),
                dedupe_key=f"reflection:failure:{failure.id}",
                record_id=proposed.id,
                now=ctx.now,
                viewer=ctx.actor,
            )
    return f"{made} reflection sessions proposed"
