"""Reflection sessions: who facilitates one and who hears of it.

A session is named after its failure ("Reflection session: <title>"), so it is shown only to
people who may see that failure: the facilitator must be one of them (:func:`check_facilitator`),
the automatic pick chooses only among them (:func:`pick_facilitator`), and calendar feeds filter
sessions per recipient (:mod:`lessonloop.calendars.service`). Someone who may not see the failure
is not invited at all, rather than shown a session without a title: even "a session on failure
#12 on Friday" tells them that a severe failure they may not see happened.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor, require_actor
from lessonloop.access.policy import can_see_failure
from lessonloop.access.viewer import viewer_for
from lessonloop.errors import Invalid
from lessonloop.failures.models import Failure
from lessonloop.people.models import Membership, Role
from lessonloop.worker.models import ReflectionSession, ReflectionStatus


def _may_attend(session: Session, failure: Failure, person_id: int) -> bool:
    """May this person see the failure, and so be told of (or run) its reflection session?"""
    return can_see_failure(viewer_for(session, person_id), failure)


def _candidates(session: Session, failure: Failure) -> list[int]:
    """Who would naturally run it, in order: the team's leads, its admins, the reporter, the
    people involved (each once)."""
    ordered: list[int] = []
    if failure.team_id is not None:
        for role in (Role.lead.value, Role.admin.value):
            ordered += session.scalars(
                select(Membership.person_id)
                .where(Membership.team_id == failure.team_id, Membership.role == role)
                .order_by(Membership.id)
            )
    if failure.reporter_id is not None:
        ordered.append(failure.reporter_id)
    ordered += [p.id for p in failure.people]
    return list(dict.fromkeys(ordered))


def pick_facilitator(session: Session, failure: Failure, *, viewer: Actor) -> int | None:
    """The first candidate who may see the failure; None when nobody may (then nobody is told).
    ``viewer``: who asks (the reflection job); the answer is the same for everyone."""
    require_actor(viewer)
    return next((pid for pid in _candidates(session, failure) if _may_attend(session, failure, pid)), None)


def check_facilitator(session: Session, failure: Failure, person_id: int, *, viewer: Actor) -> None:
    """Raise :class:`Invalid` unless ``person_id`` may see the failure the session is about."""
    require_actor(viewer)
    if not _may_attend(session, failure, person_id):
        raise Invalid(
            f"the facilitator must be someone who may see failure {failure.id}", field="facilitator"
        )


def invited(session: Session, row: ReflectionSession, failure: Failure, *, viewer: Actor) -> list[int]:
    """Who a session is for, in order: its facilitator, then the members (any role) of its team —
    each only while they may see the failure. The same people whose calendars list it
    (:mod:`lessonloop.calendars.service`), so they are the ones told when it moves."""
    require_actor(viewer)
    ids: list[int] = [row.facilitator_id] if row.facilitator_id is not None else []
    if row.team_id is not None:
        ids += session.scalars(
            select(Membership.person_id).where(Membership.team_id == row.team_id).order_by(Membership.id)
        )
    return [pid for pid in dict.fromkeys(ids) if _may_attend(session, failure, pid)]


def propose_session(
    session: Session, failure: Failure, *, when: dt.date, facilitator: int | None = None, viewer: Actor
) -> ReflectionSession:
    """A proposed session on ``failure`` on ``when``. A ``facilitator`` given must be someone who
    may see the failure (:class:`Invalid` otherwise); without one, :func:`pick_facilitator`."""
    if facilitator is not None:
        check_facilitator(session, failure, facilitator, viewer=viewer)
    else:
        facilitator = pick_facilitator(session, failure, viewer=viewer)
    reflection = ReflectionSession(
        failure_id=failure.id,
        team_id=failure.team_id,
        facilitator_id=facilitator,
        title=f"Reflection session: {failure.title}"[:400],
        scheduled_for=when,
        status=ReflectionStatus.proposed.value,
    )
    session.add(reflection)
    session.flush()
    return reflection
