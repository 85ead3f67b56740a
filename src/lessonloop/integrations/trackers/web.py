"""The action page's tracker section posts here: push the action (the worker does the rest)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from lessonloop.integrations.trackers.service import push_action
from lessonloop.web.context import Form, SignedIn, WebRoute
from lessonloop.web.forms import Form as PageForm
from lessonloop.web.render import set_flash

router = APIRouter(route_class=WebRoute)


@router.post("/actions/{action_id}/push")
def action_push(ctx: SignedIn, action_id: int, data: Form) -> Response:
    form = PageForm.posted(data, ())
    with form.attempt(ctx.session):
        push_action(ctx.session, action_id, viewer=ctx.viewer)
    response = RedirectResponse(f"/actions/{action_id}", status_code=303)
    set_flash(
        response,
        ctx.request,
        "Queued for the tracker: the issue's link appears here once the worker has created it."
        if form.ok
        else f"Not pushed: {form.message or form.error('tracker')}",
    )
    return response
