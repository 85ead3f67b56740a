"""Act: corrective actions with one owner, a due date and a review date."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from lessonloop.actions import service
from lessonloop.actions.models import ActionStatus
from lessonloop.actions.schemas import ActionOut
from lessonloop.api.common import ERROR_RESPONSES, PageOut, page_out
from lessonloop.api.deps import AppSettings, CurrentViewer, DbSession, Paging
from lessonloop.api.one_thread import OneThreadRoute
from lessonloop.people.schemas import PersonOut

router = APIRouter(route_class=OneThreadRoute, tags=["actions"], responses=ERROR_RESPONSES)

Ref = int | str


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    failure_id: int
    title: str = Field(min_length=1, max_length=500)
    owner: Ref = Field(description="The ONE owner: person id, handle or e-mail.", examples=["ben"])
    due_date: dt.date
    review_date: dt.date | None = Field(default=None, description="Default: due date + 14 days.")


class CompleteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    evidence: str = Field(description="What shows it is done: a link, a note.")


class DropIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(description="Why it is dropped (required).")


class RescheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    due_date: dt.date
    review_date: dt.date | None = Field(default=None, description="Default: due date + 14 days.")


class OverdueGroup(BaseModel):
    owner: PersonOut
    actions: list[ActionOut]


@router.post("/actions", status_code=201)
def add_action(body: ActionIn, session: DbSession, settings: AppSettings, viewer: CurrentViewer) -> ActionOut:
    """Add a corrective action to a failure (outside a review)."""
    action = service.add_action(
        session,
        failure_id=body.failure_id,
        title=body.title,
        owner=body.owner,
        due_date=body.due_date,
        review_date=body.review_date,
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


@router.post("/actions/{action_id}/complete")
def complete_action(action_id: int, body: CompleteIn, session: DbSession, viewer: CurrentViewer) -> ActionOut:
    """Complete an open action, with evidence (409 if it is not open)."""
    action = service.complete_action(session, action_id, evidence=body.evidence, viewer=viewer)
    return ActionOut.model_validate(action)


@router.post("/actions/{action_id}/drop")
def drop_action(action_id: int, body: DropIn, session: DbSession, viewer: CurrentViewer) -> ActionOut:
    """Drop an open action, with a written reason (409 if it is not open)."""
    return ActionOut.model_validate(
        service.drop_action(session, action_id, reason=body.reason, viewer=viewer)
    )


@router.post("/actions/{action_id}/reschedule")
def reschedule_action(
    action_id: int, body: RescheduleIn, session: DbSession, viewer: CurrentViewer
) -> ActionOut:
    """Move an open action's due (and review) date."""
    action = service.reschedule_action(
        session, action_id, due_date=body.due_date, review_date=body.review_date, viewer=viewer
    )
    return ActionOut.model_validate(action)
