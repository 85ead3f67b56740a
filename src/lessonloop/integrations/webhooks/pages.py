"""``/admin/event-webhooks``: the endpoints one manages, their recent deliveries, adding one
(the secret is shown on the answer page only), disabling and enabling."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from lessonloop.fields import parse_command
from lessonloop.integrations.webhooks import service
from lessonloop.integrations.webhooks.events import EVENTS
from lessonloop.integrations.webhooks.schemas import AddEventWebhook
from lessonloop.web.context import Ctx, Form, SignedIn, WebRoute
from lessonloop.web.forms import Form as PageForm
from lessonloop.web.render import set_flash

router = APIRouter(route_class=WebRoute)
FIELDS = ("url", "events", "team", "description")
RECENT = 5


def _view(
    ctx: Ctx, *, status_code: int = 200, form: PageForm | None = None, secret: str | None = None
) -> Response:
    endpoints = service.list_endpoints(ctx.session, viewer=ctx.viewer)
    response = ctx.page(
        "admin/event_webhooks.html",
        nav="admin",
        status_code=status_code,
        form=form or PageForm(FIELDS, {"events": list(EVENTS)}),
        endpoints=[
            (e, service.recent_deliveries(ctx.session, e.id, limit=RECENT, viewer=ctx.viewer))
            for e in endpoints
        ],
        events=EVENTS,
        teams=[(str(t.id), t.name) for t in service.manageable_teams(ctx.session, viewer=ctx.viewer)],
        org_allowed=service.may_add_org_endpoint(ctx.viewer),
        secret=secret,
    )
    if secret is not None:
        response.headers["Cache-Control"] = "no-store"  # the secret is on this answer only
    return response


@router.get("/admin/event-webhooks")
def event_webhooks_page(ctx: SignedIn) -> Response:
    return _view(ctx)


@router.post("/admin/event-webhooks")
def add_event_webhook(ctx: SignedIn, data: Form) -> Response:
    form = PageForm.posted(data, FIELDS, lists=("events",))
    secret: str | None = None
    with form.attempt(ctx.session):
        command = parse_command(
            AddEventWebhook,
            {
                "url": form.text("url"),
                "events": form.many("events"),
                "team": form.text("team") or None,
                "description": form.text("description"),
            },
        )
        secret = service.add_endpoint(ctx.session, **command.model_dump(), viewer=ctx.viewer).secret
    if not form.ok:
        return _view(ctx, status_code=422, form=form)
    return _view(ctx, secret=secret)


def _set(ctx: Ctx, endpoint_id: int, active: bool) -> Response:
    endpoint = service.set_active(ctx.session, endpoint_id, active, viewer=ctx.viewer)
    response = RedirectResponse("/admin/event-webhooks", status_code=303)
    set_flash(response, ctx.request, f"Event webhook {endpoint.id} {'enabled' if active else 'disabled'}.")
    return response


@router.post("/admin/event-webhooks/{endpoint_id}/disable")
def disable_event_webhook(endpoint_id: int, ctx: SignedIn) -> Response:
    return _set(ctx, endpoint_id, False)


@router.post("/admin/event-webhooks/{endpoint_id}/enable")
def enable_event_webhook(endpoint_id: int, ctx: SignedIn) -> Response:
    return _set(ctx, endpoint_id, True)
