"""Signing in and out, the first-run admin, one's account: password, notification channels and
calendar feeds (the secret feed URL is shown once, on the page that made it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from lessonloop.access.actor import SystemActor
from lessonloop.accounts.service import (
    change_password,
    create_user,
    end_session,
    has_accounts,
    sign_in,
    start_session,
)
from lessonloop.accounts.throttle import CLIENT, LoginThrottle, Wait, client_address, parse_proxies
from lessonloop.calendars import service as calendars
from lessonloop.calendars.models import CalendarToken
from lessonloop.calendars.schemas import CreateCalendarFeed
from lessonloop.errors import Conflict, LessonloopError
from lessonloop.fields import parse_command
from lessonloop.integrations.chat.kinds import KIND_LABELS
from lessonloop.integrations.sso.pages import login_options
from lessonloop.integrations.sso.policy import PASSWORDS_OFF, password_sign_in_allowed
from lessonloop.notifications.schemas import SetPreferences
from lessonloop.notifications.service import preferences_of, set_preferences
from lessonloop.people.models import Person, Team
from lessonloop.web.context import Ctx, Form, SignedIn, WebRoute, database, safe_next
from lessonloop.web.forms import Form as PageForm
from lessonloop.web.render import render, set_flash
from lessonloop.web.security import (
    SESSION_COOKIE,
    clear_session_cookie,
    csrf_token_for,
    expected_csrf,
    new_pre_session_secret,
    set_pre_session_cookie,
    set_session_cookie,
)

router = APIRouter(route_class=WebRoute)

LOGIN_FIELDS = ("handle", "password", "next")
SIGN_IN = SystemActor("sign-in")  # reads the workspace's sign-in rule before anyone is signed in
SETUP_FIELDS = ("name", "handle", "email", "password", "password_confirm")
PASSWORD_FIELDS = ("current_password", "new_password", "new_password_confirm")
PREFS_FIELDS = ("channels", "email", "webhook_url", "webhook_kind")
FEED_FIELDS = ("team",)


def _anonymous_page(request: Request, template: str, *, status_code: int = 200, **data: Any) -> Response:
    """A page for someone not signed in, with a pre-session CSRF token (set as a cookie if new)."""
    token = expected_csrf(request)
    secret = None
    if token is None:
        secret = new_pre_session_secret()
        token = csrf_token_for(secret)
    response = render(request, template, status_code=status_code, csrf=token, **data)
    if secret is not None:
        set_pre_session_cookie(response, request, secret)
    return response


def _login_page(request: Request, *, status_code: int = 200, form: PageForm) -> Response:
    """The sign-in page: the single sign-on button when it is set up, the password form unless the
    workspace turned passwords off (lessonloop.integrations.sso)."""
    options = login_options(request, form.text("next") or "/")
    return _anonymous_page(request, "login.html", status_code=status_code, form=form, **options)


def _workspace_has_accounts(request: Request) -> bool:
    with database(request).unit() as session:
        return has_accounts(session)


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    if not _workspace_has_accounts(request):
        return RedirectResponse("/setup", status_code=303)
    form = PageForm(LOGIN_FIELDS, {"next": safe_next(next)})
    return _login_page(request, form=form)


def _throttle(request: Request) -> LoginThrottle:
    throttle: LoginThrottle = request.app.state.login_throttle
    return throttle


def _client(request: Request) -> str:
    """The address sign-ins are counted against: X-Forwarded-For only from a trusted proxy."""
    proxies = parse_proxies(database(request).settings.trusted_proxies)
    peer = request.client.host if request.client else None
    return client_address(peer, request.headers.getlist("x-forwarded-for"), proxies)


def _too_many(request: Request, form: PageForm, wait: Wait) -> Response:
    whose = "your address" if wait.scope == CLIENT else "this account"
    form.message = f"Too many failed sign-ins from {whose}; try again in {(wait.seconds + 59) // 60} minutes."
    form.values["password"] = ""
    response = _login_page(request, status_code=429, form=form)
    response.headers["Retry-After"] = str(wait.seconds)
    return response


@router.post("/login")
def login(request: Request, data: Form) -> Response:
    form = PageForm.posted(data, LOGIN_FIELDS)
    db = database(request)
    with db.unit(actor="sign-in") as session:
        passwords = password_sign_in_allowed(session, viewer=SIGN_IN)
    if not passwords:  # refused before the throttle: no password was tried
        form.message, form.values["password"] = PASSWORDS_OFF, ""
        return _login_page(request, status_code=403, form=form)
    throttle, client, account = _throttle(request), _client(request), form.text("handle")
    with db.unit(actor="sign-in-throttle") as session:
        wait = throttle.retry_after(session, client=client, account=account)
    if wait is not None:  # many wrong passwords from this address, or naming this account
        return _too_many(request, form, wait)
    try:
        person = sign_in(db, account, form.raw("password"))
    except LessonloopError as exc:
        with db.unit(actor="sign-in-throttle") as session:  # kept, although the sign-in failed
            throttle.failed(session, client=client, account=account)
        form.fail(exc)
        form.values["password"] = ""
        return _login_page(request, status_code=403, form=form)
    with db.unit(actor="sign-in-throttle") as session:
        throttle.succeeded(session, account=account)
    old = request.cookies.get(SESSION_COOKIE)
    with db.unit(actor=person.handle) as session:
        if old:
            end_session(session, old)  # a new id at every sign-in: no session fixation
        session_id = start_session(session, person.id)
    response = RedirectResponse(safe_next(form.text("next")), status_code=303)
    set_session_cookie(response, request, session_id)
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        with database(request).unit() as session:
            end_session(session, session_id)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response, request)
    set_flash(response, request, "You are signed out.")
    return response


@router.get("/setup")
def setup_page(request: Request) -> Response:
    if _workspace_has_accounts(request):
        return RedirectResponse("/login", status_code=303)
    return _anonymous_page(request, "setup.html", form=PageForm(SETUP_FIELDS))


@router.post("/setup")
def setup(request: Request, data: Form) -> Response:
    form = PageForm.posted(data, SETUP_FIELDS)
    if form.raw("password") != form.raw("password_confirm"):
        form.add_error("password_confirm", "does not match the password")
    db = database(request)
    if form.ok:
        with db.unit(actor="setup") as session, form.attempt(session):
            if has_accounts(session):
                raise Conflict("the first admin exists already; sign in instead", field="workspace")
            account = create_user(
                session,
                name=form.text("name"),
                handle=form.text("handle").lower(),
                email=form.text("email") or None,
                password=form.raw("password"),
                admin=True,
                viewer=SystemActor("setup"),
            )
            session.info["actor"] = account.person.handle
            session_id = start_session(session, account.person_id)
    if not form.ok:
        form.values["password"] = form.values["password_confirm"] = ""
        return _anonymous_page(request, "setup.html", status_code=422, form=form)
    response = RedirectResponse("/", status_code=303)
    set_session_cookie(response, request, session_id)
    set_flash(response, request, "Welcome! You are the workspace's first admin.")
    return response


@dataclass
class Feed:
    token: CalendarToken
    name: str


def _feeds(ctx: Ctx) -> list[Feed]:
    feeds = []
    for row in calendars.list_tokens(ctx.session, viewer=ctx.viewer):
        if row.person_id is not None:
            person = ctx.session.get(Person, row.person_id)
            name = f"Mine ({person.name})" if person is not None else "?"
        else:
            team = ctx.session.get(Team, row.team_id)
            name = f"Team {team.name}" if team is not None else "?"
        feeds.append(Feed(row, name))
    return feeds


def _prefs_form(ctx: Ctx) -> PageForm:
    view = preferences_of(ctx.session, ctx.person.id, viewer=ctx.viewer)
    values = {
        "channels": view.channels,
        "email": view.email or "",
        "webhook_url": view.webhook_url or "",
        "webhook_kind": view.webhook_kind,
    }
    return PageForm(PREFS_FIELDS, values)


def account_view(
    ctx: Ctx,
    *,
    status_code: int = 200,
    password_form: PageForm | None = None,
    prefs_form: PageForm | None = None,
    feed_form: PageForm | None = None,
    new_feed: str | None = None,
) -> Response:
    response = ctx.page(
        "account.html",
        nav="account",
        status_code=status_code,
        form=password_form or PageForm(PASSWORD_FIELDS),
        prefs=prefs_form or _prefs_form(ctx),
        webhook_kinds=KIND_LABELS,
        person_email=ctx.person.email,
        feed_form=feed_form or PageForm(FEED_FIELDS),
        feeds=_feeds(ctx),
        feed_teams=[(t.id, t.name) for t in calendars.feed_teams(ctx.session, ctx.viewer)],
        new_feed=new_feed,
    )
    if new_feed is not None:
        response.headers["Cache-Control"] = "no-store"  # the secret URL is on this page only
    return response


@router.get("/account")
def account_page(ctx: SignedIn) -> Response:
    return account_view(ctx)


@router.post("/account/notifications")
def account_notifications(ctx: SignedIn, data: Form) -> Response:
    form = PageForm.posted(data, PREFS_FIELDS, lists=("channels",))
    with form.attempt(ctx.session):
        command = parse_command(
            SetPreferences,
            {
                "channels": [c for c in form.many("channels") if c != "in-app"],
                "email": form.text("email"),
                "webhook_url": form.text("webhook_url"),
                "webhook_kind": form.text("webhook_kind") or None,
            },
        )
        set_preferences(ctx.session, ctx.person.id, **command.model_dump(), viewer=ctx.viewer)
    if not form.ok:
        return account_view(ctx, status_code=422, prefs_form=form)
    response = RedirectResponse("/account#notifications", status_code=303)
    set_flash(response, ctx.request, "Notification channels saved.")
    return response


@router.post("/account/calendar-feeds")
def account_new_feed(ctx: SignedIn, data: Form) -> Response:
    form = PageForm.posted(data, FEED_FIELDS)
    plaintext: str | None = None
    with form.attempt(ctx.session):
        command = parse_command(CreateCalendarFeed, {"team": form.text("team") or None})
        if command.team is not None:
            _row, plaintext = calendars.create_token(ctx.session, team=command.team, viewer=ctx.viewer)
        else:
            _row, plaintext = calendars.create_token(ctx.session, person=ctx.person.id, viewer=ctx.viewer)
    if not form.ok or plaintext is None:
        return account_view(ctx, status_code=422, feed_form=form)
    # Rendered, not redirected: the URL must not travel in a flash cookie or a Location header.
    return account_view(
        ctx, status_code=201, new_feed=calendars.feed_url(plaintext, server=str(ctx.request.base_url))
    )


@router.post("/account/calendar-feeds/{token_id}/revoke")
def account_revoke_feed(ctx: SignedIn, token_id: int) -> Response:
    row = calendars.get_token(ctx.session, token_id, viewer=ctx.viewer)
    calendars.revoke_token(ctx.session, row.id, viewer=ctx.viewer)
    response = RedirectResponse("/account#calendar", status_code=303)
    set_flash(response, ctx.request, f"Calendar feed {row.prefix}… is revoked: its URL no longer works.")
    return response


@router.post("/account/password")
def account_password(ctx: SignedIn, data: Form) -> Response:
    form = PageForm.posted(data, PASSWORD_FIELDS)
    if form.raw("new_password") != form.raw("new_password_confirm"):
        form.add_error("new_password_confirm", "does not match the new password")
    if form.ok:
        with form.attempt(ctx.session):
            change_password(
                ctx.session,
                ctx.person.id,
                current_password=form.raw("current_password"),
                new_password=form.raw("new_password"),
                keep_session=ctx.session_id,
            )
    if not form.ok:
        form.values = dict.fromkeys(PASSWORD_FIELDS, "")
        return account_view(ctx, status_code=422, password_form=form)
    response = RedirectResponse("/account", status_code=303)
    set_flash(response, ctx.request, "Password changed; your other browsers were signed out.")
    return response
