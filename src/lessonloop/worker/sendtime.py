"""The send-time text of the worker's reminders (:mod:`lessonloop.notifications.sendtime`).

One renderer per kind the jobs of :mod:`lessonloop.worker.jobs` enqueue. Each reads the record as
it is *now* and says dates relative to ``now`` (:func:`lessonloop.relative_time.relative_day`),
or answers :class:`Obsolete` with the reason when the step it asks for is done:

========================  ===============  ====================================================
kind                      record           obsolete when
========================  ===============  ====================================================
``reminder``              action           the action is done or dropped
``review-check``          action           "did this work?" was answered, or the action dropped
``experiment-end``        experiment       an observation was recorded on or after its end date
``reflection``            reflection       the session was held or cancelled
``reflection-moved``      reflection       the session was held or cancelled
``mention``               comment          the comment was deleted
========================  ===============  ====================================================

Every kind is also obsolete when its record is gone, or when the recipient may no longer see it
(the text would name a failure they may not see).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from lessonloop.access.policy import can_see, can_see_failure
from lessonloop.access.viewer import Viewer
from lessonloop.actions.models import Action, ActionStatus
from lessonloop.discussion.models import Comment, TargetKind
from lessonloop.discussion.service import MODELS, mention_text
from lessonloop.experiments.models import Experiment
from lessonloop.failures.models import Failure
from lessonloop.notifications.sendtime import Obsolete, Rendered, Text, renderer
from lessonloop.people.models import Person
from lessonloop.relative_time import day_count, days_until, relative_day
from lessonloop.worker.models import ActionCheck, ReflectionSession, ReflectionStatus

UNSEEN = "it is about something you may no longer see"


def _is_was(day: dt.date, now: dt.datetime) -> str:
    return "was" if days_until(day, now=now) < 0 else "is"


def _action_gone(action: Action | None, action_id: int, viewer: Viewer, session: Session) -> Obsolete | None:
    if action is None:
        return Obsolete(f"action #{action_id} no longer exists")
    if not can_see(session, viewer, action):
        return Obsolete(UNSEEN)
    if action.status == ActionStatus.dropped.value:
        return Obsolete(f"action #{action.id} was dropped")
    return None


@renderer("reminder")
def action_reminder(session: Session, action_id: int, viewer: Viewer, now: dt.datetime) -> Rendered:
    """ "Action #12 is due in 3 days" / "is due today" / "is overdue by 2 days"."""
    action = session.get(Action, action_id)
    gone = _action_gone(action, action_id, viewer, session)
    if gone is not None:
        return gone
    assert action is not None
    if action.status == ActionStatus.done.value:
        when = f" on {action.closed_at.date().isoformat()}" if action.closed_at else ""
        return Obsolete(f"action #{action.id} was completed{when}")
    left = days_until(action.due_date, now=now)
    if left > 0:
        state = f"is due {relative_day(action.due_date, now=now)}"
    elif left == 0:
        state = "is due today"
    else:
        state = f"is overdue by {day_count(left)}"
    subject = f"Action #{action.id} {state}: {action.title}"
    body = (
        f"{subject}\n\nDue {action.due_date.isoformat()} ({relative_day(action.due_date, now=now)}), "
        f"review date {action.review_date.isoformat()} ({relative_day(action.review_date, now=now)}).\n"
        f"When it is done: lessonloop action done {action.id} --evidence TEXT\n"
        f"If the date no longer holds, reschedule it rather than let it drift."
    )
    return Text(subject, body)


@renderer("review-check")
def review_check(session: Session, action_id: int, viewer: Viewer, now: dt.datetime) -> Rendered:
    """ "Did this work?" on the review date — not once it has been answered."""
    action = session.get(Action, action_id)
    gone = _action_gone(action, action_id, viewer, session)
    if gone is not None:
        return gone
    assert action is not None
    answer = session.scalars(
        select(ActionCheck).where(ActionCheck.action_id == action.id).order_by(ActionCheck.id.desc())
    ).first()
    if answer is not None:
        return Obsolete(
            f'"did this work?" for action #{action.id} was answered ({answer.worked}) '
            f"on {answer.checked_at.date().isoformat()}"
        )
    review = action.review_date
    subject = f"Did this work? Action #{action.id}: {action.title}"
    body = (
        f"The review date of action #{action.id}, “{action.title}”, {_is_was(review, now)} "
        f"{relative_day(review, now=now)} ({review.isoformat()}; status: {action.status}).\n\n"
        f"Did it work? Answer with:\n"
        f'  lessonloop action check {action.id} --worked yes|no|partly --note "what you saw"'
    )
    return Text(subject, body)


@renderer("experiment-end")
def experiment_end(session: Session, experiment_id: int, viewer: Viewer, now: dt.datetime) -> Rendered:
    """ "Experiment #3 ended 2 days ago: record what you observed" — until something is recorded."""
    experiment = session.get(Experiment, experiment_id)
    if experiment is None:
        return Obsolete(f"experiment #{experiment_id} no longer exists")
    if not can_see(session, viewer, experiment):
        return Obsolete(UNSEEN)
    end = experiment.end_date
    after = [o for o in experiment.observations if o.observed_at.date() >= end]
    if after:
        return Obsolete(
            f"an observation of experiment #{experiment.id} was recorded on "
            f"{after[-1].observed_at.date().isoformat()}, after it ended"
        )
    count = len(experiment.observations)
    ended = "ended" if days_until(end, now=now) < 0 else "ends"
    subject = f"Experiment #{experiment.id} {ended} {relative_day(end, now=now)}: record what you observed"
    body = (
        f"The experiment “{experiment.hypothesis}” {ended} {relative_day(end, now=now)} "
        f"({end.isoformat()}).\n"
        f"Metric: {experiment.metric} {experiment.comparator} {experiment.threshold:g} "
        f"({count} observation{'s' if count != 1 else ''} so far).\n\n"
        f"Record the latest value: lessonloop experiment observe {experiment.id} VALUE"
    )
    return Text(subject, body)


@renderer("reflection")
def reflection(session: Session, reflection_id: int, viewer: Viewer, now: dt.datetime) -> Rendered:
    """ "Hold a reflection session on failure #4 by 2026-05-08 (in 3 days)" — until it is held."""
    row = session.get(ReflectionSession, reflection_id)
    if row is None:
        return Obsolete(f"reflection session #{reflection_id} no longer exists")
    failure = session.get(Failure, row.failure_id)
    if failure is None or not can_see_failure(viewer, failure):
        return Obsolete(UNSEEN)
    if row.status == ReflectionStatus.held.value:
        when = f" on {row.held_at.date().isoformat()}" if row.held_at else ""
        return Obsolete(f"the reflection session on failure #{failure.id} was held{when}")
    if row.status == ReflectionStatus.cancelled.value:
        return Obsolete(f"the reflection session on failure #{failure.id} was cancelled")
    day = row.scheduled_for
    subject = f"Hold a reflection session on failure #{failure.id} by {day.isoformat()} ({relative_day(day, now=now)})"
    body = (
        f"Failure #{failure.id} “{failure.title}” was {failure.severity}. A reflection session "
        f"{_is_was(day, now)} planned for {day.isoformat()} ({relative_day(day, now=now)}; it is in "
        f"your calendar).\nRun the review: lessonloop review {failure.id}\n"
        f"Once it is held: lessonloop reflection held {row.id}"
    )
    return Text(subject, body)


def moved_text(row: ReflectionSession, failure: Failure, facilitator: str | None, now: dt.datetime) -> Text:
    """ "Reflection session on failure #4 moved to 2026-05-12 (in 6 days)" — the date as
    the session has it when this is said, so a later move is never announced with a stale date."""
    day = row.scheduled_for
    when = f"{day.isoformat()} ({relative_day(day, now=now)})"
    by = f", facilitated by {facilitator}" if facilitator else ""
    return Text(
        f"Reflection session on failure #{failure.id} moved to {when}",
        f"The reflection session on failure #{failure.id} “{failure.title}” {_is_was(day, now)} "
        f"planned for {when}{by}; your calendar shows the new date.\n"
        f"See it: /reflections/{row.id}",
    )


@renderer("reflection-moved")
def reflection_moved(session: Session, reflection_id: int, viewer: Viewer, now: dt.datetime) -> Rendered:
    """A session's new date, told to the people it is for — until it is held or cancelled."""
    row = session.get(ReflectionSession, reflection_id)
    if row is None:
        return Obsolete(f"reflection session #{reflection_id} no longer exists")
    failure = session.get(Failure, row.failure_id)
    if failure is None or not can_see_failure(viewer, failure):
        return Obsolete(UNSEEN)
    if row.status in (ReflectionStatus.held.value, ReflectionStatus.cancelled.value):
        return Obsolete(f"the reflection session on failure #{failure.id} was {row.status}")
    facilitator = session.get(Person, row.facilitator_id) if row.facilitator_id is not None else None
    return moved_text(row, failure, facilitator.name if facilitator else None, now)


@renderer("mention")
def mention(session: Session, comment_id: int, viewer: Viewer, now: dt.datetime) -> Rendered:
    """ "Ana mentioned you on failure 4: …" with the comment as it reads now (edited or not)."""
    comment = session.get(Comment, comment_id)
    if comment is None:
        return Obsolete(f"comment #{comment_id} was deleted")
    record = session.get(MODELS[TargetKind(comment.target_kind)], comment.target_id)
    if record is None or not can_see(session, viewer, record):
        return Obsolete(UNSEEN)
    return Text(*mention_text(comment, record, comment.author))
