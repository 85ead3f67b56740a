"""The account page's Slack section: link (a one-time code to send from Slack) and unlink.

``GET /account/slack`` shows whether the signed-in person is linked; ``POST /account/slack/code``
makes a code and shows it on the page that made it (never in a redirect or a cookie);
``POST /account/slack/unlink`` forgets the link. Only one's own: the routes take no id.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import RedirectResponse, Response

from lessonloop.integrations.slack.links import CODE_LIFETIME, create_link_code, identity_of, unlink
from lessonloop.web.context import Ctx, SignedIn, WebRoute, csrf_guard
from lessonloop.web.render import set_flash

router = APIRouter(route_class=WebRoute, dependencies=[Depends(csrf_guard)], include_in_schema=False)


def _page(ctx: Ctx, *, code: str | None = None, status_code: int = 200) -> Response:
    identity = identity_of(ctx.session, ctx.person.id, viewer=ctx.viewer)
    response = ctx.page(
        "slack/account.html",
        nav="account",
        status_code=status_code,
        identity=identity,
        code=code,
        minutes=int(CODE_LIFETIME.total_seconds() // 60),
    )
    if code is not None:
        response.headers["Cache-Control"] = "no-store"  # the code is on this page only
    return response


@router.get("/account/slack")
def slack_account(ctx: SignedIn) -> Response:
    return _page(ctx)


@router.post("/account/slack/code")
def slack_link_code(ctx: SignedIn) -> Response:
    code = create_link_code(ctx.session, ctx.person.id, viewer=ctx.viewer)
    return _page(ctx, code=code, status_code=201)


@router.post("/account/slack/unlink")
def slack_unlink(ctx: SignedIn) -> Response:
    done = unlink(ctx.session, ctx.person.id, viewer=ctx.viewer)
    response = RedirectResponse("/account/slack", status_code=303)
    set_flash(response, ctx.request, "Slack unlinked." if done else "Your Slack account was not linked.")
    return response
