"""Reflection sessions: list, one, schedule on a failure, reschedule, mark held, notes.

Seen by whoever may see the session's failure (404 for the rest); changed by its facilitator,
the leads and admins of the failure's team and org admins (403 for others who may see it). See
:mod:`lessonloop.reflections.service`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, Field

from lessonloop.api.common import ERROR_RESPONSES
from lessonloop.api.deps import CurrentViewer, DbSession
from lessonloop.api.one_thread import OneThreadRoute
from lessonloop.people.schemas import PersonOut
from lessonloop.reflections import service as reflections
from lessonloop.reflections.schemas import (
    HoldReflection,
    ReflectionNotes,
    RescheduleReflection,
    ScheduleReflection,
)
from lessonloop.worker.models import ReflectionStatus

router = APIRouter(route_class=OneThreadRoute, tags=["reflections"], responses=ERROR_RESPONSES)


class ReflectionOut(BaseModel):
    id: int
    failure_id: int
    failure_title: str
    team_id: int | None
    title: str
    scheduled_for: dt.date
    status: str = Field(description="proposed, held or cancelled")
    held_at: dt.datetime | None
    notes: str
    facilitator: PersonOut | None
    may_change: bool = Field(description="May you reschedule it, mark it held, write its notes?")


def _out(listed: reflections.Listed) -> ReflectionOut:
    r = listed.reflection
    return ReflectionOut(
        id=r.id,
        failure_id=r.failure_id,
        failure_title=listed.failure.title,
        team_id=r.team_id,
        title=r.title,
        scheduled_for=r.scheduled_for,
        status=r.status,
        held_at=r.held_at,
        notes=r.notes,
        facilitator=PersonOut.model_validate(listed.facilitator) if listed.facilitator else None,
        may_change=listed.may_run,
    )


@router.get("/reflections")
def list_reflections(
    session: DbSession,
    viewer: CurrentViewer,
    status: Annotated[ReflectionStatus | None, Query(description="Only sessions in this state.")] = None,
) -> list[ReflectionOut]:
    """The reflection sessions of failures you may see, the soonest first."""
    rows = reflections.list_reflections(session, status=status.value if status else None, viewer=viewer)
    return [_out(r) for r in rows]


@router.get("/reflections/{reflection_id}")
def get_reflection(reflection_id: int, session: DbSession, viewer: CurrentViewer) -> ReflectionOut:
    """One session; 404 when you may not see its failure."""
    return _out(reflections.get_reflection(session, reflection_id, viewer=viewer))


@router.post("/failures/{failure_id}/reflection", status_code=201)
def schedule_reflection(
    failure_id: int, body: ScheduleReflection, session: DbSession, viewer: CurrentViewer
) -> ReflectionOut:
    """Plan the reflection session on a failure: its team's leads and admins, org admins (403 for
    others who may see it). 409 when it has one already (reschedule that); a date in the past or
    a facilitator who may not see the failure is a 422."""
    row = reflections.schedule(session, failure_id, body, viewer=viewer)
    return _out(reflections.get_reflection(session, row.id, viewer=viewer))


@router.post("/reflections/{reflection_id}/reschedule")
def reschedule_reflection(
    reflection_id: int, body: RescheduleReflection, session: DbSession, viewer: CurrentViewer
) -> ReflectionOut:
    """Move a session to another date (and facilitator); 409 once it was held."""
    reflections.reschedule(session, reflection_id, body, viewer=viewer)
    return _out(reflections.get_reflection(session, reflection_id, viewer=viewer))


@router.post("/reflections/{reflection_id}/held")
def hold_reflection(
    reflection_id: int,
    session: DbSession,
    viewer: CurrentViewer,
    body: Annotated[HoldReflection | None, Body()] = None,
) -> ReflectionOut:
    """Record that it was held (with its notes, if given); the reminder to hold it is not sent
    after this."""
    reflections.mark_held(session, reflection_id, body or HoldReflection(), viewer=viewer)
    return _out(reflections.get_reflection(session, reflection_id, viewer=viewer))


@router.put("/reflections/{reflection_id}/notes")
def reflection_notes(
    reflection_id: int, body: ReflectionNotes, session: DbSession, viewer: CurrentViewer
) -> ReflectionOut:
    """Replace the session's notes."""
    reflections.set_notes(session, reflection_id, body, viewer=viewer)
    return _out(reflections.get_reflection(session, reflection_id, viewer=viewer))
