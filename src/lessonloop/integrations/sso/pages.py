"""The web side of single sign-on: the button's two routes and the org admin's sign-in page.

    GET  /login/sso            start: discovery, a new state/nonce/PKCE verifier, off to the provider
    GET  /login/sso/callback   back from the provider: checks, code exchange, ID token, session
    GET  /admin/sign-in        org admins: how people sign in; passwords on or off
    POST /admin/sign-in

Every way a sign-in can fail (the provider is down, the person cancelled, a stale or forged
answer, an unverified or unknown e-mail) is a page in the layout with what to do, never a 500.
The network calls to the provider run outside any database transaction.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from lessonloop.access.actor import SystemActor
from lessonloop.access.scope import require_directory_admin
from lessonloop.accounts.service import end_session, start_session
from lessonloop.integrations.sso import client
from lessonloop.integrations.sso.config import CALLBACK_PATH, SsoConfig, SsoMisconfigured, sso_config
from lessonloop.integrations.sso.policy import password_sign_in_allowed, set_password_sign_in
from lessonloop.integrations.sso.signin import (
    SignInProblem,
    begin_attempt,
    check_attempt,
    person_for_claims,
    take_attempt,
)
from lessonloop.settings import Settings
from lessonloop.web.context import Ctx, Form, SignedIn, WebRoute, database, safe_next
from lessonloop.web.forms import Form as PageForm
from lessonloop.web.render import render, set_flash
from lessonloop.web.security import SESSION_COOKIE, is_https, set_session_cookie

log = logging.getLogger("lessonloop.sso")
router = APIRouter(route_class=WebRoute)

#: The browser's handle on its sign-in under way (the server keeps the rest): only sent back to
#: the callback, gone after it.
ATTEMPT_COOKIE = "lessonloop_sso"
SSO = SystemActor("sso")  # signs people in and, with just-in-time creation, adds them


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def configured(request: Request) -> SsoConfig | None:
    """The checked configuration, or None (a misconfiguration is logged: the button stays away)."""
    try:
        return sso_config(_settings(request))
    except SsoMisconfigured as exc:
        log.error("single sign-on is off: %s", exc)
        return None


def login_options(request: Request, next_path: str) -> dict[str, Any]:
    """What the sign-in page shows: the button (when set up) and the password form (unless off)."""
    config = configured(request)
    with database(request).unit() as session:
        passwords = password_sign_in_allowed(session, viewer=SSO)
    sso_url = f"/login/sso?next={quote(safe_next(next_path), safe='/')}" if config is not None else None
    return {"sso_name": config.provider_name if config else None, "sso_url": sso_url, "passwords": passwords}


def problem_page(request: Request, status: int, title: str, message: str) -> Response:
    response = render(request, "sso/problem.html", status_code=status, title=title, message=message)
    response.delete_cookie(ATTEMPT_COOKIE, path=CALLBACK_PATH)
    return response


def _require_config(request: Request) -> SsoConfig:
    try:
        config = sso_config(_settings(request))
    except SsoMisconfigured as exc:
        raise SignInProblem(f"Single sign-on is not set up correctly ({exc}). Ask an admin.") from exc
    if config is None:
        raise SignInProblem("Single sign-on is not set up for this workspace: sign in with your password.")
    return config


@router.get("/login/sso")
def start(request: Request, next: str = "/") -> Response:
    try:
        config = _require_config(request)
        redirect_uri = config.redirect_uri(str(request.base_url))
        try:
            auth = client.authorization_request(config, client.discover(config), redirect_uri)
        except client.ProviderUnavailable as exc:
            log.warning("single sign-on: the provider is unavailable: %s", exc)
            return problem_page(
                request,
                502,
                f"{config.provider_name} is not answering",
                f"lessonloop could not reach {config.provider_name} to sign you in. Try again in a few "
                "minutes; if it keeps failing, tell an admin.",
            )
    except SignInProblem as exc:
        return problem_page(request, 503, "Single sign-on is unavailable", exc.message)
    with database(request).unit(actor="sso") as session:
        plaintext = begin_attempt(
            session, auth, redirect_uri=redirect_uri, next_path=safe_next(next), viewer=SSO
        )
    response = RedirectResponse(auth.url, status_code=303)
    response.set_cookie(
        ATTEMPT_COOKIE,
        plaintext,
        max_age=600,
        path=CALLBACK_PATH,
        httponly=True,
        samesite="lax",  # sent on the provider's top-level redirect back, not on cross-site posts
        secure=is_https(request),
    )
    return response


@router.get(CALLBACK_PATH)
def callback(request: Request) -> Response:
    params = request.query_params
    try:
        config = _require_config(request)
        # Taken (deleted) in a unit of its own, so that a refused answer still uses it up.
        with database(request).unit(actor="sso") as session:
            attempt = take_attempt(session, request.cookies.get(ATTEMPT_COOKIE), viewer=SSO)
        attempt = check_attempt(attempt, state=params.get("state", ""))
        redirect_uri, verifier, nonce, next_path = (
            attempt.redirect_uri,
            attempt.code_verifier,
            attempt.nonce,
            attempt.next_path,
        )
        if params.get("error"):
            return _provider_said_no(
                request, config, params.get("error", ""), params.get("error_description", "")
            )
        # RFC 9207: an answer naming another issuer is a mix-up (or an attack), never exchanged.
        if params.get("iss") is not None and params.get("iss") != config.issuer:
            raise SignInProblem("The answer came from another identity provider than the one configured.")
        code = params.get("code")
        if not code:
            raise SignInProblem("The identity provider sent no authorization code. Start again.")
        claims = client.finish(
            config,
            client.discover(config),
            redirect_uri=redirect_uri,
            code=code,
            code_verifier=verifier,
            nonce=nonce,
        )
        with database(request).unit(actor="sso") as session:
            person = person_for_claims(session, claims, config=config, viewer=SSO)
            session.info["actor"] = person.handle
            old = request.cookies.get(SESSION_COOKIE)
            if old:
                end_session(session, old)  # a new id at every sign-in: no session fixation
            session_id = start_session(session, person.id)
    except SignInProblem as exc:
        return problem_page(request, exc.status_code, exc.title, exc.message)
    except client.ProviderUnavailable as exc:
        log.warning("single sign-on: the provider is unavailable: %s", exc)
        return problem_page(
            request,
            502,
            f"{config.provider_name} is not answering",
            f"lessonloop could not finish signing you in with {config.provider_name}. Try again in a few minutes.",
        )
    except client.SignInRejected as exc:
        log.warning("single sign-on: rejected: %s", exc)
        return problem_page(
            request,
            400,
            "Sign-in refused",
            f"The answer from {config.provider_name} could not be verified, so nobody was signed in. "
            "Start again from the sign-in page.",
        )
    response = RedirectResponse(safe_next(next_path), status_code=303)
    set_session_cookie(response, request, session_id)
    response.delete_cookie(ATTEMPT_COOKIE, path=CALLBACK_PATH)
    return response


def _provider_said_no(request: Request, config: SsoConfig, error: str, description: str) -> Response:
    if error == "access_denied":
        return problem_page(
            request,
            401,
            "Sign-in cancelled",
            f"You cancelled signing in at {config.provider_name} (or it did not let you in). "
            "Nothing was changed; sign in again whenever you are ready.",
        )
    # The provider's own words are shown as text (escaped): they help whoever debugs the set-up.
    detail = f" ({error}: {description})" if description else f" ({error})"
    return problem_page(
        request,
        400,
        "Sign-in failed",
        f"{config.provider_name} did not sign you in{detail[:300]}. Try again.",
    )


# -- the org admin's page -----------------------------------------------------------------------

SIGN_IN_FIELDS = ("password_sign_in",)


def _sign_in_view(ctx: Ctx, *, status_code: int = 200, form: PageForm | None = None) -> Response:
    require_directory_admin(ctx.viewer, "change how people sign in")
    config = configured(ctx.request)
    return ctx.page(
        "admin/sign_in.html",
        nav="admin",
        status_code=status_code,
        form=form or PageForm(SIGN_IN_FIELDS),
        sso=config,
        passwords=password_sign_in_allowed(ctx.session, viewer=ctx.viewer),
        callback=config.redirect_uri(str(ctx.request.base_url)) if config else "",
    )


@router.get("/admin/sign-in")
def sign_in_settings(ctx: SignedIn) -> Response:
    return _sign_in_view(ctx)


@router.post("/admin/sign-in")
def change_sign_in_settings(ctx: SignedIn, data: Form) -> Response:
    form = PageForm.posted(data, SIGN_IN_FIELDS)
    allowed = form.text("password_sign_in") == "on"
    with form.attempt(ctx.session):
        set_password_sign_in(ctx.session, allowed, sso=configured(ctx.request), viewer=ctx.viewer)
    if not form.ok:
        return _sign_in_view(ctx, status_code=409, form=form)
    response = RedirectResponse("/admin/sign-in", status_code=303)
    set_flash(
        response,
        ctx.request,
        "Password sign-in is on."
        if allowed
        else "Password sign-in is off: people sign in with single sign-on.",
    )
    return response
