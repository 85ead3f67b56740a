"""``/api/v1/event-webhooks``: add, list, disable or enable endpoints, and see their deliveries.

Routes take the request's session as ``db`` (as the tracker routes): they are adapters that pass
the signed-in viewer on, not services. Org admins manage every endpoint, a team's leads and admins their team's; any other endpoint id
answers 404 like a missing one. The secret is in the answer to ``POST`` only.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from lessonloop.api.common import ERROR_RESPONSES
from lessonloop.api.deps import CurrentViewer, DbSession
from lessonloop.api.one_thread import OneThreadRoute
from lessonloop.integrations.webhooks import service
from lessonloop.integrations.webhooks.schemas import (
    AddEventWebhook,
    CreatedEventWebhookOut,
    EventDeliveryOut,
    EventWebhookOut,
)

router = APIRouter(route_class=OneThreadRoute, tags=["event webhooks"], responses=ERROR_RESPONSES)


@router.get("/event-webhooks")
def list_event_webhooks(db: DbSession, viewer: CurrentViewer) -> list[EventWebhookOut]:
    """The endpoints you manage."""
    return [EventWebhookOut.of(e) for e in service.list_endpoints(db, viewer=viewer)]


@router.post("/event-webhooks", status_code=201)
def add_event_webhook(body: AddEventWebhook, db: DbSession, viewer: CurrentViewer) -> CreatedEventWebhookOut:
    """Register an endpoint; the answer holds its signing secret, this once."""
    made = service.add_endpoint(
        db, url=body.url, events=body.events, team=body.team, description=body.description, viewer=viewer
    )
    return CreatedEventWebhookOut(endpoint=EventWebhookOut.of(made.endpoint), secret=made.secret)


@router.get("/event-webhooks/{endpoint_id}")
def get_event_webhook(endpoint_id: int, db: DbSession, viewer: CurrentViewer) -> EventWebhookOut:
    return EventWebhookOut.of(service.get_endpoint(db, endpoint_id, viewer=viewer))


@router.post("/event-webhooks/{endpoint_id}/disable")
def disable_event_webhook(endpoint_id: int, db: DbSession, viewer: CurrentViewer) -> EventWebhookOut:
    """Stop sending: nothing more is queued, and queued deliveries end dead ("not sent")."""
    return EventWebhookOut.of(service.set_active(db, endpoint_id, False, viewer=viewer))


@router.post("/event-webhooks/{endpoint_id}/enable")
def enable_event_webhook(endpoint_id: int, db: DbSession, viewer: CurrentViewer) -> EventWebhookOut:
    return EventWebhookOut.of(service.set_active(db, endpoint_id, True, viewer=viewer))


@router.get("/event-webhooks/{endpoint_id}/deliveries")
def event_webhook_deliveries(
    endpoint_id: int,
    db: DbSession,
    viewer: CurrentViewer,
    limit: Annotated[int, Query(ge=1, le=200, description="At most this many, newest first.")] = 20,
) -> list[EventDeliveryOut]:
    """Recent deliveries: status, attempts and the last error of each."""
    rows = service.recent_deliveries(db, endpoint_id, limit=limit, viewer=viewer)
    return [EventDeliveryOut.of(d) for d in rows]
