"""The signed-in person's notifications: the in-app list, mark one or all read."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from lessonloop.notifications.models import Notification
from lessonloop.notifications.service import Shown, current_for_person, mark_all_read, mark_read
from lessonloop.web.context import Form, SignedIn, WebRoute, safe_next
from lessonloop.web.forms import Form as PageForm
from lessonloop.web.render import set_flash

router = APIRouter(route_class=WebRoute)

LIMIT = 200

# What a notification is about, read from its dedupe key (it names the event), and the page to
# open for it. Keys are written by the worker's jobs (docs/worker.md).
_LINKS = (
    (re.compile(r"^(?:reminder|review-check):action:(\d+):"), "/actions/{}"),
    (re.compile(r"^experiment-end:experiment:(\d+):"), "/experiments/{}"),
    (re.compile(r"^reflection:failure:(\d+)$"), "/failures/{}/reflection"),
    (re.compile(r"^reflection-moved:reflection:(\d+):"), "/reflections/{}"),
    (re.compile(r"^escalation:(\d+):"), "/escalations/{}"),
)


@dataclass
class Row:
    """One entry: its text as of now (``shown``), or why it is no longer needed."""

    notification: Notification
    link: str | None
    shown: Shown | None = None


def link_for(notification: Notification) -> str | None:
    for pattern, target in _LINKS:
        match = pattern.match(notification.dedupe_key)
        if match:
            return target.format(*match.groups())
    return None


@router.get("/notifications")
def notification_list(ctx: SignedIn, show: str = "all") -> Response:
    unread_only = show == "unread"
    rows = [
        Row(s.notification, link_for(s.notification), s)
        for s in current_for_person(
            ctx.session, ctx.person.id, unread=unread_only, limit=LIMIT, viewer=ctx.viewer
        )
    ]
    return ctx.page(
        "notifications/list.html",
        nav="notifications",
        rows=rows,
        show="unread" if unread_only else "all",
        limit=LIMIT,
    )


@router.post("/notifications/read-all")
def notification_read_all(ctx: SignedIn) -> Response:
    marked = mark_all_read(ctx.session, ctx.person.id, viewer=ctx.viewer)
    response = RedirectResponse("/notifications", status_code=303)
    set_flash(
        response,
        ctx.request,
        f"{marked} notification{'' if marked == 1 else 's'} marked read."
        if marked
        else "Nothing was unread.",
    )
    return response


@router.post("/notifications/{notification_id}/read")
def notification_read(ctx: SignedIn, notification_id: int, data: Form) -> Response:
    """Mark one read (someone else's is the 404 page), then go back — or open what it is about."""
    form = PageForm.posted(data, ("next", "show"))
    mark_read(ctx.session, notification_id, viewer=ctx.viewer)
    default = "/notifications?show=unread" if form.text("show") == "unread" else "/notifications"
    return RedirectResponse(safe_next(form.text("next"), default), status_code=303)
