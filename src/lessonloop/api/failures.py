"""Observe: log, list, change and move failures through the loop; a failure's overview and history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from lessonloop.api.cache import cached_json
from lessonloop.api.common import ERROR_RESPONSES, PageOut, page_json
from lessonloop.api.deps import (
    AppSettings,
    CurrentPrincipal,
    CurrentViewer,
    DbSession,
    PageNumber,
    PageParams,
    PageSize,
    Principal,
    paging_for,
)
from lessonloop.api.one_thread import OneThreadRoute
from lessonloop.escalations.service import EscalationPolicy
from lessonloop.failures import listing, service
from lessonloop.failures.models import FailureKind, FailureStatus, Severity
from lessonloop.failures.overview import FailureOverview, HistoryOut, failure_overview
from lessonloop.failures.schemas import (
    ConfirmRepeat,
    EditFailure,
    FailureOut,
    LogFailure,
    MoveFailure,
)
from lessonloop.signals.observe import log_and_observe
from lessonloop.store.engine import Database

router = APIRouter(route_class=OneThreadRoute, tags=["failures"], responses=ERROR_RESPONSES)


@router.post("/failures", status_code=201)
def log_failure(
    body: LogFailure, session: DbSession, viewer: CurrentViewer, settings: AppSettings
) -> FailureOut:
    """Log a failure; it starts *observed*. You are its reporter unless ``reporter`` names someone else.

    A pattern it completes opens (or grows) an escalation at once (``GET /escalations``); the
    similar earlier failures are at ``GET /failures/{id}/similar``."""
    logged = log_and_observe(
        session, body, policy=EscalationPolicy.from_settings(settings), find_similar=False, viewer=viewer
    )
    return FailureOut.model_validate(logged.failure)


@router.get("/failures", response_model=PageOut[FailureOut])
async def list_failures(
    request: Request,
    # The principal itself and the page as plain query parameters, not Actor, CurrentViewer and
    # Paging: FastAPI solves a dependency's own dependencies again for each parameter that uses
    # it, even when its value is cached, a sizeable part of the uncached list's CPU (decisions
    # 53, 62): 7 solves per request. The same sign-in check, parameters and OpenAPI.
    principal: CurrentPrincipal,
    team: Annotated[str | None, Query(description="Team id or name.")] = None,
    status: FailureStatus | None = None,
    kind: FailureKind | None = None,
    severity: Severity | None = None,
    label: Annotated[str | None, Query(description="Only failures with this exact label.")] = None,
    since: Annotated[
        dt.datetime | None, Query(description="Detected on or after (ISO date or time).")
    ] = None,
    until: Annotated[dt.datetime | None, Query(description="Detected before (ISO date or time).")] = None,
    page: PageNumber = 1,  # after the filters, where Paging's parameters were in the OpenAPI
    page_size: PageSize = None,
) -> Response:
    """The failures you may see, the most recently detected first. Answers are kept while
    nothing is written (`X-Cache: hit`; see api/cache.py)."""
    database: Database = request.app.state.db
    paging = paging_for(request.app.state.settings, page, page_size)
    filters = ListFilters(team, status, kind, severity, label, since, until)
    return await cached_json(
        request, principal.viewer, lambda: page_in_own_unit(database, principal, filters, paging)
    )


@dataclass(frozen=True)
class ListFilters:
    """The list's filters as the route takes them (``api.list_fast_path`` fills them too)."""

    team: str | None = None
    status: FailureStatus | None = None
    kind: FailureKind | None = None
    severity: Severity | None = None
    label: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def failure_page_body(
    session: Session, principal: Principal, filters: ListFilters, paging: PageParams
) -> bytes:
    """The JSON of one page of the list, read in ``session`` (blocking: the thread pool).

    Plain rows straight to JSON: the same answer as ``FailureOut`` for each ORM failure, at a
    fraction of the CPU (failures/listing.py, decision 53). The route and the list's fast path
    (decision 69) both answer with it.
    """
    page = listing.list_failure_rows(
        session,
        team=filters.team,
        status=filters.status,
        kind=filters.kind,
        severity=filters.severity,
        label=filters.label,
        since=filters.since,
        until=filters.until,
        page=paging.page,
        page_size=paging.page_size,
        viewer=principal.viewer,
    )
    return page_json(page)


def page_in_own_unit(
    database: Database, principal: Principal, filters: ListFilters, paging: PageParams
) -> bytes:
    with database.unit(actor=principal.handle) as session:
        return failure_page_body(session, principal, filters, paging)


@router.get("/failures/{failure_id}")
def get_failure(failure_id: int, session: DbSession, viewer: CurrentViewer) -> FailureOut:
    """A failure (404 when you may not see it, as if it did not exist)."""
    return FailureOut.model_validate(service.get_visible_failure(session, failure_id, viewer))


@router.patch("/failures/{failure_id}")
def update_failure(
    failure_id: int, body: EditFailure, session: DbSession, viewer: CurrentViewer
) -> FailureOut:
    """Change the fields sent; the history log records old → new."""
    failure = service.update_failure(session, failure_id, body.changes(), viewer=viewer)
    return FailureOut.model_validate(failure)


@router.delete("/failures/{failure_id}", status_code=204)
def delete_failure(failure_id: int, session: DbSession, viewer: CurrentViewer) -> None:
    """Delete a failure with its review, actions and experiments."""
    service.delete_failure(session, failure_id, viewer=viewer)


@router.post("/failures/{failure_id}/transition")
def transition(failure_id: int, body: MoveFailure, session: DbSession, viewer: CurrentViewer) -> FailureOut:
    """Move a failure through the loop; a move the rules refuse is a 409 saying why."""
    return FailureOut.model_validate(service.transition(session, failure_id, body.status, viewer=viewer))


@router.post("/failures/{failure_id}/repeat")
def confirm_repeat(
    failure_id: int, body: ConfirmRepeat, session: DbSession, viewer: CurrentViewer
) -> FailureOut:
    """Confirm that this failure repeats an earlier one; it becomes *repeated*."""
    return FailureOut.model_validate(
        service.confirm_repeat(session, failure_id, body.repeat_of, viewer=viewer)
    )


@router.get("/failures/{failure_id}/overview")
def overview(failure_id: int, session: DbSession, viewer: CurrentViewer) -> FailureOverview:
    """The failure with its review, actions, experiments, lessons, repeats, next steps and history."""
    return failure_overview(session, failure_id, viewer=viewer)


@router.get("/failures/{failure_id}/history")
def history(failure_id: int, session: DbSession, viewer: CurrentViewer) -> list[HistoryOut]:
    """Every change to the failure, its review and its actions: who, when, old → new."""
    return failure_overview(session, failure_id, viewer=viewer).history
