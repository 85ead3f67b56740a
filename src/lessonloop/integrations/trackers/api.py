"""``/api/v1``: connect a team's tracker, push an action, read its link; and the webhook route.

The webhook route is on its own router (:data:`webhook_router`), outside the signed-in API: the
signature is its credential (:mod:`.webhooks`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from lessonloop.access.actor import SystemActor
from lessonloop.api.common import ERROR_RESPONSES
from lessonloop.api.deps import CurrentViewer, DbSession
from lessonloop.api.one_thread import OneThreadRoute
from lessonloop.errors import LessonloopError
from lessonloop.integrations.trackers import service
from lessonloop.integrations.trackers.schemas import ConnectionOut, ConnectTracker, LinkOut, MapAssignee
from lessonloop.integrations.trackers.webhooks import handle_webhook
from lessonloop.store.engine import Database

router = APIRouter(route_class=OneThreadRoute, tags=["trackers"], responses=ERROR_RESPONSES)
# The request's unit of work is named ``db`` here: this package is walked by the fail-closed test
# as services are, and a route is an adapter that passes the signed-in viewer on, not a service.

WEBHOOK = SystemActor("tracker-webhook")


def _out(view: service.ConnectionView) -> ConnectionOut:
    return ConnectionOut.model_validate(view, from_attributes=True)


@router.get("/teams/{team}/tracker")
def get_tracker(team: str, db: DbSession, viewer: CurrentViewer) -> ConnectionOut:
    """The team's tracker connection, secrets masked (the team's leads and admins, org admins)."""
    return _out(service.get_connection(db, team=team, viewer=viewer))


@router.put("/teams/{team}/tracker")
def connect_tracker(team: str, body: ConnectTracker, db: DbSession, viewer: CurrentViewer) -> ConnectionOut:
    """Connect (or change) the team's GitHub repository or Jira project."""
    view = service.connect_tracker(
        db,
        team=team,
        kind=body.kind,
        target=body.target,
        token=body.token,
        webhook_secret=body.webhook_secret,
        server_url=body.server_url,
        user=body.user,
        issue_type=body.issue_type,
        viewer=viewer,
    )
    return _out(view)


@router.delete("/teams/{team}/tracker", status_code=204)
def disconnect_tracker(team: str, db: DbSession, viewer: CurrentViewer) -> Response:
    service.disconnect_tracker(db, team=team, viewer=viewer)
    return Response(status_code=204)


@router.post("/teams/{team}/tracker/assignees")
def map_assignee(team: str, body: MapAssignee, db: DbSession, viewer: CurrentViewer) -> ConnectionOut:
    """Say who a person is in the tracker: new issues of their actions are assigned to them."""
    return _out(service.map_assignee(db, team=team, person=body.person, login=body.login, viewer=viewer))


@router.post("/actions/{action_id}/push", status_code=202)
def push_action(action_id: int, db: DbSession, viewer: CurrentViewer) -> LinkOut:
    """Queue the action for its team's tracker; the worker creates the issue (once)."""
    return LinkOut.model_validate(service.push_action(db, action_id, viewer=viewer))


@router.get("/actions/{action_id}/tracker")
def action_tracker(action_id: int, db: DbSession, viewer: CurrentViewer) -> LinkOut | None:
    """The action's tracker link: its state, and the issue's address once it exists."""
    link = service.get_link(db, action_id, viewer=viewer)
    return None if link is None else LinkOut.model_validate(link)


webhook_router = APIRouter(tags=["trackers"])


@webhook_router.post("/api/v1/trackers/{connection_id}/webhook", include_in_schema=False)
async def tracker_webhook(connection_id: str, request: Request) -> JSONResponse:
    """A tracker's webhook: 401 unless signed with the connection's secret."""
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    database: Database = request.app.state.db

    def apply() -> str:
        with database.unit(actor=str(WEBHOOK)) as session:
            return handle_webhook(session, connection_id, headers=headers, body=body, viewer=WEBHOOK)

    try:
        result = await run_in_threadpool(apply)
    except LessonloopError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=exc.status_code)
    return JSONResponse({"detail": result})
