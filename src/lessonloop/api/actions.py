"""Act: corrective actions with one owner, a due date and a review date."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from lessonloop.actions import service
from lessonloop.actions.models import ActionStatus
from lessonloop.actions.schemas import (
    ActionOut,
    AddAction,
    CompleteAction,
    DropAction,
    EditAction,
    RescheduleAction,
)
from lessonloop.api.common import ERROR_RESPONSES, PageOut, page_out
from lessonloop.api.deps import AppSettings, CurrentViewer, DbSession, Paging
from lessonloop.api.one_thread import OneThreadRoute
from lessonloop.people.schemas import PersonOut

router = APIRouter(route_class=OneThreadRoute, tags=["actions"], responses=ERROR_RESPONSES)


class OverdueGroup(BaseModel):
    owner: PersonOut
    actions: list[ActionOut]


@router.post("/actions", status_code=201)
def add_action(
    body: AddAction, session: DbSession, settings: AppSettings, viewer: CurrentViewer
) -> ActionOut:
    """Add a corrective action to a failure (outside a review)."""
    action = service.add_action(
        session,
        **body.model_dump(),
        review_offset_days=settings.default_review_offset_days,
        viewer=viewer,
    )
    return ActionOut.model_validate(action)


@router.get("/actions")
def list_actions(
    session: DbSession,
    viewer: CurrentViewer,
    paging: Paging,
    owner: Annotated[str | None, Query(description="Owner id, handle or e-mail.")] = None,
    team: Annotated[str | None, Query(description="Team id or name (of the action's failure).")] = None,
    status: ActionStatus | None = None,
    failure: Annotated[int | None, Query(description="Only this failure's actions.")] = None,
    overdue: Annotated[bool, Query(description="Only open actions past their due date.")] = False,
) -> PageOut[ActionOut]:
    """The actions of failures you may see, the earliest due first."""
    page = service.list_actions(
        session,
        owner=owner,
        team=team,
        status=status,
        failure_id=failure,
        overdue=overdue,
        page=paging.page,
        page_size=paging.page_size,
        viewer=viewer,
    )
    return page_out(page, ActionOut.model_validate)


# Declared before /actions/{action_id} so "overdue" is not read as an id.
@router.get("/actions/overdue")
def overdue_by_owner(
    session: DbSession,
    viewer: CurrentViewer,
    team: Annotated[str | None, Query(description="Team id or name.")] = None,
) -> list[OverdueGroup]:
    """Open actions past their due date, grouped by owner, the most overdue owner first."""
    return [
        OverdueGroup(
            owner=PersonOut.model_validate(owner), actions=[ActionOut.model_validate(a) for a in items]
        )
        for owner, items in service.overdue_by_owner(session, team=team, viewer=viewer)
    ]


@router.get("/actions/{action_id}")
def get_action(action_id: int, session: DbSession, viewer: CurrentViewer) -> ActionOut:
    """An action (404 when you may not see its failure)."""
    return ActionOut.model_validate(service.get_action(session, action_id, viewer=viewer))


@router.patch("/actions/{action_id}")
def edit_action(action_id: int, body: EditAction, session: DbSession, viewer: CurrentViewer) -> ActionOut:
    """Re-assign the owner, move the due or review date, retitle: only the fields sent change (its
    owner or whoever may change the failure; 403 otherwise). A due date moved into the past needs
    ``"backfill": true`` (422 at ``due_date`` otherwise)."""
    action = service.edit_action(session, action_id, body.changes(), backfill=body.backfill, viewer=viewer)
    return ActionOut.model_validate(action)


@router.post("/actions/{action_id}/complete")
def complete_action(
    action_id: int, body: CompleteAction, session: DbSession, viewer: CurrentViewer
) -> ActionOut:
    """Complete an open action, with evidence (409 if it is not open); ``done_at`` back-fills when it
    was done (not in the future)."""
    action = service.complete_action(session, action_id, **body.model_dump(), viewer=viewer)
    return ActionOut.model_validate(action)


@router.post("/actions/{action_id}/drop")
def drop_action(action_id: int, body: DropAction, session: DbSession, viewer: CurrentViewer) -> ActionOut:
    """Drop an open action, with a written reason (409 if it is not open)."""
    return ActionOut.model_validate(
        service.drop_action(session, action_id, **body.model_dump(), viewer=viewer)
    )


@router.post("/actions/{action_id}/reschedule")
def reschedule_action(
    action_id: int, body: RescheduleAction, session: DbSession, viewer: CurrentViewer
) -> ActionOut:
    """Move an open action's due (and review) date."""
    action = service.reschedule_action(session, action_id, **body.model_dump(), viewer=viewer)
    return ActionOut.model_validate(action)
