"""Coaching notes and development plans: seen by their author and their subject only.

Not by org admins, not by other leads: someone else's note or plan answers 404, as if it did not
exist; writing one without the right role answers 403 (rules in ``docs/security.md``). The author
is always the signed-in person. Their text never reaches search or anyone else's export.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from lessonloop.api.common import ERROR_RESPONSES
from lessonloop.api.deps import CurrentViewer, DbSession
from lessonloop.api.one_thread import OneThreadRoute
from lessonloop.coaching import service
from lessonloop.coaching.models import CoachingNote, DevelopmentPlan, PlanStatus
from lessonloop.coaching.schemas import StartPlan, WriteNote
from lessonloop.people.schemas import PersonOut
from lessonloop.reviews.service import get_review

router = APIRouter(route_class=OneThreadRoute, tags=["coaching"], responses=ERROR_RESPONSES)


class NoteOut(BaseModel):
    id: int
    author: PersonOut | None
    subject: PersonOut
    team_id: int | None
    body: str
    created_at: dt.datetime

    @classmethod
    def of(cls, note: CoachingNote) -> NoteOut:
        return cls(
            id=note.id,
            author=PersonOut.model_validate(note.author) if note.author is not None else None,
            subject=PersonOut.model_validate(note.subject),
            team_id=note.team_id,
            body=note.body,
            created_at=note.created_at,
        )


class PlanOut(BaseModel):
    id: int
    review_id: int
    person: PersonOut
    author: PersonOut | None
    goals: str
    support: str
    review_date: dt.date
    status: str
    completed_at: dt.datetime | None
    created_at: dt.datetime

    @classmethod
    def of(cls, plan: DevelopmentPlan) -> PlanOut:
        return cls(
            id=plan.id,
            review_id=plan.review_id,
            person=PersonOut.model_validate(plan.person),
            author=PersonOut.model_validate(plan.author) if plan.author is not None else None,
            goals=plan.goals,
            support=plan.support,
            review_date=plan.review_date,
            status=plan.status,
            completed_at=plan.completed_at,
            created_at=plan.created_at,
        )


@router.post("/coaching-notes", status_code=201)
def write_note(body: WriteNote, session: DbSession, viewer: CurrentViewer) -> NoteOut:
    """A private note about someone in a team you lead (403 otherwise)."""
    note = service.write_note(session, author=viewer.person_id, **body.model_dump(), viewer=viewer)
    return NoteOut.of(note)


@router.get("/coaching-notes")
def list_notes(
    session: DbSession,
    viewer: CurrentViewer,
    subject: Annotated[str | None, Query(description="Only notes about this person.")] = None,
) -> list[NoteOut]:
    """The notes you wrote or that are about you, the newest first."""
    return [NoteOut.of(n) for n in service.notes_visible_to(session, viewer, subject=subject)]


@router.get("/coaching-notes/{note_id}")
def get_note(note_id: int, session: DbSession, viewer: CurrentViewer) -> NoteOut:
    return NoteOut.of(service.get_note(session, viewer, note_id))


@router.delete("/coaching-notes/{note_id}", status_code=204)
def delete_note(note_id: int, session: DbSession, viewer: CurrentViewer) -> None:
    """Only the author may delete a note (its subject gets 403)."""
    service.delete_note(session, viewer, note_id)


@router.post("/development-plans", status_code=201)
def start_plan(body: StartPlan, session: DbSession, viewer: CurrentViewer) -> PlanOut:
    """A development plan after a review that found a skill gap (409 for any other gap)."""
    review = get_review(session, body.review_id, viewer=viewer)  # 404 for a review you may not see
    plan = service.start_plan(
        session,
        author=viewer.person_id,
        review=review,
        **body.model_dump(exclude={"review_id"}),
        viewer=viewer,
    )
    return PlanOut.of(plan)


@router.get("/development-plans")
def list_plans(session: DbSession, viewer: CurrentViewer, status: PlanStatus | None = None) -> list[PlanOut]:
    """The plans you wrote or that are yours, by review date."""
    plans = service.plans_visible_to(session, viewer, status=status.value if status else None)
    return [PlanOut.of(p) for p in plans]


@router.get("/development-plans/{plan_id}")
def get_plan(plan_id: int, session: DbSession, viewer: CurrentViewer) -> PlanOut:
    return PlanOut.of(service.get_plan(session, viewer, plan_id))


@router.post("/development-plans/{plan_id}/complete")
def complete_plan(plan_id: int, session: DbSession, viewer: CurrentViewer) -> PlanOut:
    """Mark a plan done (its author or its person; 409 when it is done already)."""
    return PlanOut.of(service.complete_plan(session, viewer, plan_id))
