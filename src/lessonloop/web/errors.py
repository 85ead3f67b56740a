"""Error pages: a person who follows a dead link, sends a malformed address or meets a bug sees
a page inside the layout, with the navigation they had, never a bare JSON object. Only the
API (``/api/v1``) answers JSON; :func:`install_page_errors` sends each error to one or the other.

The page is drawn for whoever is signed in (the session cookie, read in a short unit of its own:
the request's own unit may be the one that failed), so the navigation stays; when that lookup
fails too, the page is drawn signed out rather than not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from lessonloop.access.viewer import viewer_for
from lessonloop.accounts.service import resolve_session
from lessonloop.api.errors import request_validation_error
from lessonloop.notifications.service import unread_count
from lessonloop.store.engine import Database
from lessonloop.web.render import render
from lessonloop.web.security import SESSION_COOKIE

log = logging.getLogger("lessonloop.web")

TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    405: "Not possible here",
    409: "Not possible now",
    413: "Too large",
    422: "Check what you entered",
    500: "Something went wrong",
    503: "Unavailable",
}

_MESSAGES = {
    404: "There is no page at this address, or it is not one you may see.",
    405: "This page cannot be used that way. Go back and use the page's own buttons and forms.",
    422: "This address is not one lessonloop understands (a number where a word was given?).",
    500: "Something went wrong on our side. It has been logged; nothing you sent was half-saved. "
    "Go back and try again.",
}

Handler = Callable[[Request, Exception], Awaitable[Response]]


def _signed_in(request: Request) -> dict[str, Any]:
    """``me``, ``viewer`` and ``unread`` for the layout, or nothing when nobody is signed in."""
    session_id = request.cookies.get(SESSION_COOKIE) or ""
    db = getattr(request.app.state, "db", None)
    if not session_id or not isinstance(db, Database):
        return {}
    try:
        with db.unit(actor="web") as session:
            person = resolve_session(session, session_id)
            viewer = viewer_for(session, person)
            unread = unread_count(session, person.id, viewer=viewer)
            session.expunge_all()  # the layout reads the loaded names after the unit ends
            return {"me": person, "viewer": viewer, "unread": unread}
    except Exception:  # an error page must never fail for lack of a navigation bar
        log.debug("error page drawn signed out", exc_info=True)
        return {}


def error_page(
    request: Request, status: int, title: str | None = None, message: str | None = None
) -> Response:
    """The error page for a page request (sync: call from a worker thread)."""
    return render(
        request,
        "error.html",
        status_code=status,
        title=title or TITLES.get(status, "Something is not right"),
        message=message or _MESSAGES.get(status, "Go back and try again."),
        **_signed_in(request),
    )


def is_api(request: Request, api_prefix: str) -> bool:
    path = request.url.path
    return path == api_prefix or path.startswith(api_prefix + "/")


def install_page_errors(app: FastAPI, *, api_prefix: str) -> None:
    """404/405 (no such route), 422 (a malformed path or query) and 500 (a bug) as pages outside
    the API; the API keeps its JSON answers."""

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if is_api(request, api_prefix) or exc.status_code < 400:
            return await http_exception_handler(request, exc)
        response = await run_in_threadpool(error_page, request, exc.status_code)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    async def validation_error(request: Request, exc: Exception) -> Response:
        if is_api(request, api_prefix):
            return await request_validation_error(request, exc)
        return await run_in_threadpool(error_page, request, 422)

    async def server_error(request: Request, exc: Exception) -> Response:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        if is_api(request, api_prefix):
            from fastapi.responses import JSONResponse

            return JSONResponse(
                {"detail": "internal error; it has been logged", "field": None}, status_code=500
            )
        return await run_in_threadpool(error_page, request, 500)

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, server_error)
