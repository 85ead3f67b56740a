"""Signing in and out, the first-run admin, one's own password."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from lessonloop.accounts.service import (
    change_password,
    create_user,
    end_session,
    has_accounts,
    sign_in,
    start_session,
)
from lessonloop.errors import Conflict, LessonloopError
from lessonloop.web.context import Form, SignedIn, WebRoute, database, safe_next
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
SETUP_FIELDS = ("name", "handle", "email", "password", "password_confirm")
PASSWORD_FIELDS = ("current_password", "new_password", "new_password_confirm")


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


def _workspace_has_accounts(request: Request) -> bool:
    with database(request).unit() as session:
        return has_accounts(session)


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    if not _workspace_has_accounts(request):
        return RedirectResponse("/setup", status_code=303)
    form = PageForm(LOGIN_FIELDS, {"next": safe_next(next)})
    return _anonymous_page(request, "login.html", form=form)


@router.post("/login")
def login(request: Request, data: Form) -> Response:
    form = PageForm.posted(data, LOGIN_FIELDS)
    db = database(request)
    try:
        person = sign_in(db, form.text("handle"), form.raw("password"))
    except LessonloopError as exc:
        form.fail(exc)
        form.values["password"] = ""
        return _anonymous_page(request, "login.html", status_code=403, form=form)
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


@router.get("/account")
def account_page(ctx: SignedIn) -> Response:
    return ctx.page("account.html", form=PageForm(PASSWORD_FIELDS))


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
        return ctx.page("account.html", status_code=422, form=form)
    response = RedirectResponse("/account", status_code=303)
    set_flash(response, ctx.request, "Password changed; your other browsers were signed out.")
    return response
