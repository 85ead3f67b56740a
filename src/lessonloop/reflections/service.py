"""Reflection sessions as people see and run them.

Who sees a session: whoever may see its failure — the session is named after it — exactly as
the worker chooses whom to invite and the calendar feeds choose what to list
(:mod:`lessonloop.worker.reflections`). Someone who may not see the failure gets a 404, as if the
session did not exist.

Who runs it (schedule, reschedule, mark held, write the notes): its facilitator, the leads and
team-role admins of the failure's team, and org admins, each only while they may see the failure
(:func:`lessonloop.access.policy.can_run_reflection`, decision 42); anyone else who may see it gets
a 403. A session that was held keeps its date: rescheduling it is a 409; its notes may still be
written. Moving a session tells the people it is for (its facilitator and the team's members who
may see the failure), but not the one who moved it. Nothing here commits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor, is_person, require_actor
from lessonloop.access.policy import can_run_reflection, visible_failure_ids
from lessonloop.errors import Conflict, Invalid, NotFound, PermissionDenied
from lessonloop.failures.models import Failure
from lessonloop.failures.service import get_visible_failure
from lessonloop.notifications.service import enqueue
from lessonloop.people.models import Person
from lessonloop.people.service import PersonRef, get_person
from lessonloop.reflections.schemas import (
    HoldReflection,
    ReflectionNotes,
    RescheduleReflection,
    ScheduleReflection,
)
from lessonloop.store.base import utcnow
from lessonloop.store.crud import get_or_404
from lessonloop.worker.models import ReflectionSession, ReflectionStatus
from lessonloop.worker.reflections import check_facilitator, invited, propose_session
from lessonloop.worker.sendtime import moved_text

WHO_RUNS = (
    "only the facilitator, the leads and admins of the failure's team, or an org admin "
    "may change this reflection session"
)


@dataclass(frozen=True)
class Listed:
    """A session with what a list shows beside it."""

    reflection: ReflectionSession
    failure: Failure
    facilitator: Person | None
    may_run: bool  # may the viewer schedule, mark held, write notes


def _may_run(viewer: Actor, failure: Failure, facilitator_id: int | None) -> bool:
    return not is_person(viewer) or can_run_reflection(viewer, failure, facilitator_id)


def _listed(session: Session, row: ReflectionSession, failure: Failure, viewer: Actor) -> Listed:
    person = session.get(Person, row.facilitator_id) if row.facilitator_id is not None else None
    return Listed(row, failure, person, _may_run(viewer, failure, row.facilitator_id))


def list_reflections(session: Session, *, status: str | None = None, viewer: Actor) -> list[Listed]:
    """The sessions ``viewer`` may see (those of failures they may see), the soonest first."""
    require_actor(viewer)
    stmt = select(ReflectionSession, Failure).join(Failure, Failure.id == ReflectionSession.failure_id)
    if is_person(viewer):
        stmt = stmt.where(ReflectionSession.failure_id.in_(visible_failure_ids(viewer)))
    if status:
        stmt = stmt.where(ReflectionSession.status == status)
    rows = session.execute(stmt.order_by(ReflectionSession.scheduled_for, ReflectionSession.id)).all()
    return [_listed(session, row, failure, viewer) for row, failure in rows]


def get_reflection(session: Session, reflection_id: int | str, *, viewer: Actor) -> Listed:
    """One session; 404 when it does not exist or ``viewer`` may not see its failure."""
    require_actor(viewer)
    row = get_or_404(session, ReflectionSession, reflection_id)
    try:
        failure = get_visible_failure(session, row.failure_id, viewer)
    except NotFound:
        raise NotFound(f"no reflection session with id {row.id}", field="reflection_id") from None
    return _listed(session, row, failure, viewer)


def reflection_of_failure(session: Session, failure_id: int | str, *, viewer: Actor) -> Listed | None:
    """The session on a failure, or ``None``; 404 when ``viewer`` may not see the failure."""
    failure = get_visible_failure(session, failure_id, viewer)
    row = session.scalar(select(ReflectionSession).where(ReflectionSession.failure_id == failure.id))
    return None if row is None else _listed(session, row, failure, viewer)


def may_schedule(session: Session, failure: Failure, *, viewer: Actor) -> bool:
    """May ``viewer`` plan a session on ``failure`` (one that has none)?"""
    require_actor(viewer)
    return _may_run(viewer, failure, None)


def _not_past(day: dt.date, today: dt.date) -> dt.date:
    if day < today:
        raise Invalid(
            f"{day.isoformat()} is in the past (today is {today.isoformat()}, UTC)", field="scheduled_for"
        )
    return day


def _facilitator_id(session: Session, failure: Failure, ref: PersonRef, viewer: Actor) -> int:
    person = get_person(session, ref, viewer=viewer)
    check_facilitator(session, failure, person.id, viewer=viewer)
    return person.id


def schedule(
    session: Session,
    failure_id: int | str,
    command: ScheduleReflection,
    *,
    today: dt.date | None = None,
    viewer: Actor,
) -> ReflectionSession:
    """Plan a session on a failure that has none (409 if it has one: reschedule that)."""
    failure = get_visible_failure(session, failure_id, viewer)
    if not _may_run(viewer, failure, None):
        raise PermissionDenied(
            "only the leads and admins of the failure's team, or an org admin, may schedule its "
            "reflection session",
            field="failure",
        )
    existing = session.scalar(select(ReflectionSession.id).where(ReflectionSession.failure_id == failure.id))
    if existing is not None:
        raise Conflict(f"failure {failure.id} has a reflection session already (#{existing}): reschedule it")
    when = _not_past(command.scheduled_for, today or utcnow().date())
    facilitator = (
        _facilitator_id(session, failure, command.facilitator, viewer)
        if command.facilitator not in (None, "")
        else None
    )
    return propose_session(session, failure, when=when, facilitator=facilitator, viewer=viewer)


def _runnable(session: Session, reflection_id: int | str, viewer: Actor) -> Listed:
    listed = get_reflection(session, reflection_id, viewer=viewer)
    if not listed.may_run:
        raise PermissionDenied(WHO_RUNS, field="reflection")
    return listed


def reschedule(
    session: Session,
    reflection_id: int | str,
    command: RescheduleReflection,
    *,
    today: dt.date | None = None,
    viewer: Actor,
) -> ReflectionSession:
    """Move a session not yet held to another date (and facilitator, if one is given)."""
    listed = _runnable(session, reflection_id, viewer)
    row = listed.reflection
    if row.status == ReflectionStatus.held.value:
        raise Conflict(f"reflection session {row.id} was held already; it keeps its date")
    before = (row.scheduled_for, row.facilitator_id, row.status)
    row.scheduled_for = _not_past(command.scheduled_for, today or utcnow().date())
    if command.facilitator not in (None, ""):
        assert command.facilitator is not None
        row.facilitator_id = _facilitator_id(session, listed.failure, command.facilitator, viewer)
    row.status = ReflectionStatus.proposed.value  # a cancelled one planned again
    session.flush()
    if (row.scheduled_for, row.facilitator_id, row.status) != before:
        _tell_moved(session, row, listed.failure, viewer=viewer)
    return row


def _tell_moved(session: Session, row: ReflectionSession, failure: Failure, *, viewer: Actor) -> None:
    """Tell the people the session is for (:func:`lessonloop.worker.reflections.invited`), but not
    whoever moved it, in-app and by their channels. The text is rebuilt when it is sent and shown
    (kind ``reflection-moved``: :mod:`lessonloop.worker.sendtime`), so it always names the
    session's date as it is then; the one given here is what is kept otherwise."""
    now = utcnow()
    mover = viewer.person_id if is_person(viewer) else None
    facilitator = session.get(Person, row.facilitator_id) if row.facilitator_id is not None else None
    text = moved_text(row, failure, facilitator.name if facilitator else None, now)
    for person_id in invited(session, row, failure, viewer=viewer):
        if person_id == mover:
            continue
        enqueue(
            session,
            person_id=person_id,
            kind="reflection-moved",
            subject=text.subject,
            body_text=text.body_text,
            # One notice per move and person (a move back to an earlier date is news again).
            dedupe_key=f"reflection-moved:reflection:{row.id}:{row.scheduled_for.isoformat()}:"
            f"{row.facilitator_id}:{now.isoformat()}:person:{person_id}",
            record_id=row.id,
            now=now,
            viewer=viewer,
        )


def mark_held(
    session: Session,
    reflection_id: int | str,
    command: HoldReflection,
    *,
    now: dt.datetime | None = None,
    viewer: Actor,
) -> ReflectionSession:
    """Record that the session was held (again: harmless, the first time stands). The prompt to
    hold it is not sent after this (it becomes obsolete: docs/worker.md)."""
    row = _runnable(session, reflection_id, viewer).reflection
    if row.status != ReflectionStatus.held.value:
        row.status = ReflectionStatus.held.value
        row.held_at = now or utcnow()
    if command.notes is not None:
        row.notes = command.notes.strip()
    session.flush()
    return row


def set_notes(
    session: Session, reflection_id: int | str, command: ReflectionNotes, *, viewer: Actor
) -> ReflectionSession:
    """Replace the session's notes (before or after it was held)."""
    row = _runnable(session, reflection_id, viewer).reflection
    row.notes = command.notes.strip()
    session.flush()
    return row
