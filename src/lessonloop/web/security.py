"""The pages' defences: the session cookie, CSRF tokens and security headers.

* **Session cookie** ``lessonloop_session``: the plaintext id from
  :func:`lessonloop.accounts.service.start_session` (only its SHA-256 is stored), ``HttpOnly``,
  ``SameSite=Lax``, ``Secure`` when the request came over https, ``Path=/``, 14 days.
* **CSRF**: every form carries ``csrf_token``; every POST is refused (403) unless it matches.
  Signed in, the token is derived from the session id (``sha256("lessonloop-csrf:" + id)``): one
  per session, unguessable without the cookie, and replaced at each sign-in. Before sign-in (the
  login and first-run forms) it is derived the same way from a random pre-session cookie
  ``lessonloop_csrf`` (double submit). htmx requests send the same token from their form.
* **Headers** on every page outside ``/api/v1`` (the API and its interactive docs are left as
  they are): a strict Content-Security-Policy (``'self'`` only, no inline script or style),
  ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``, ``Referrer-Policy:
  same-origin``, ``Permissions-Policy``, ``Cross-Origin-Opener-Policy: same-origin`` and
  ``Cache-Control: no-store`` for pages (static files may be cached).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from lessonloop.accounts.service import SESSION_LIFETIME

SESSION_COOKIE = "lessonloop_session"
PRE_SESSION_COOKIE = "lessonloop_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)

PAGE_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class CsrfRefused(Exception):
    """A POST without the right ``csrf_token``: answered 403."""


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def csrf_token_for(secret: str) -> str:
    return hashlib.sha256(f"lessonloop-csrf:{secret}".encode()).hexdigest()


def expected_csrf(request: Request) -> str | None:
    """The token this browser's forms must carry: from its session, else its pre-session cookie."""
    secret = request.cookies.get(SESSION_COOKIE) or request.cookies.get(PRE_SESSION_COOKIE)
    return csrf_token_for(secret) if secret else None


def csrf_matches(request: Request, presented: object) -> bool:
    expected = expected_csrf(request)
    if not expected or not isinstance(presented, str) or not presented:
        return False
    return hmac.compare_digest(expected.encode(), presented.encode())


def new_pre_session_secret() -> str:
    return secrets.token_urlsafe(32)


def set_session_cookie(response: Response, request: Request, session_id: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_https(request),
    )
    response.delete_cookie(PRE_SESSION_COOKIE, path="/")


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_https(request))


def set_pre_session_cookie(response: Response, request: Request, secret: str) -> None:
    response.set_cookie(
        PRE_SESSION_COOKIE,
        secret,
        max_age=2 * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_https(request),
    )


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class SecurityHeadersMiddleware:
    """Adds :data:`PAGE_HEADERS` to every HTTP response outside ``skip_prefix`` (the API)."""

    def __init__(self, app: ASGIApp, *, skip_prefix: str) -> None:
        self.app = app
        self.skip_prefix = skip_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path == self.skip_prefix or path.startswith(self.skip_prefix + "/"):
            await self.app(scope, receive, send)
            return
        static = path.startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = dict(PAGE_HEADERS)
                if not static:
                    extra["Cache-Control"] = "no-store"
                for name, value in extra.items():
                    if name.lower().encode() not in present:
                        headers.append((name.lower().encode(), value.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
