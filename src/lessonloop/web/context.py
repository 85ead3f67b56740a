"""What every page route shares: who is signed in, the request's unit of work, the form, errors.

* :func:`signed_in` is the dependency of every page behind the login: it reads the session
  cookie, resolves it (:func:`lessonloop.accounts.service.resolve_session`) inside the request's
  unit of work, builds the :class:`~lessonloop.access.viewer.Viewer` and names the person in the
  history log. No valid session: a redirect to ``/login`` (303), never a page.
* :func:`csrf_guard` runs on every route of the web router: a POST without the right token is
  refused before any route code runs.
* :class:`WebRoute` turns what a route raises into pages: a domain error becomes an HTML error
  page with its status (404 for what one may not see), a missing session a redirect.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from lessonloop.access.viewer import Viewer, viewer_for
from lessonloop.accounts.service import resolve_session
from lessonloop.api.one_thread import InRequestThread, OneThreadRoute
from lessonloop.errors import LessonloopError
from lessonloop.notifications.service import unread_count
from lessonloop.people.models import Person
from lessonloop.store.engine import Database
from lessonloop.web.errors import error_page
from lessonloop.web.render import render
from lessonloop.web.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    SAFE_METHODS,
    SESSION_COOKIE,
    CsrfRefused,
    csrf_matches,
)

log = logging.getLogger("lessonloop.web")


class LoginRequired(Exception):
    """No valid session: the route answers with a redirect to the login page."""


@dataclass
class Ctx:
    """The signed-in person, their viewer and the request's unit of work."""

    request: Request
    session: Session
    person: Person
    viewer: Viewer
    session_id: str

    def page(self, template: str, *, status_code: int = 200, nav: str = "", **data: Any) -> Response:
        return render(
            self.request,
            template,
            status_code=status_code,
            me=self.person,
            viewer=self.viewer,
            nav=nav,
            unread=unread_count(self.session, self.person.id, viewer=self.viewer),
            **data,
        )


def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def signed_in(request: Request) -> Iterator[Ctx]:
    """The request's unit of work with the signed-in person; commits after the route returns."""
    session_id = request.cookies.get(SESSION_COOKIE) or ""
    if not session_id:
        raise LoginRequired
    with database(request).unit(actor="web") as session:
        try:
            person = resolve_session(session, session_id)
        except LessonloopError:  # unknown, ended or expired: sign in again
            raise LoginRequired from None
        session.info["actor"] = person.handle
        yield Ctx(
            request=request,
            session=session,
            person=person,
            viewer=viewer_for(session, person),
            session_id=session_id,
        )


# Run in the route's own thread by WebRoute (a OneThreadRoute): the unit of work commits right
# after the route returns, before the response (a redirect after a POST) is sent, so the next page
# always sees what was just written; and the session never changes threads.
SignedIn = Annotated[Ctx, InRequestThread(signed_in)]


async def read_form(request: Request) -> FormData:
    """The posted form (parsed once per request and cached by Starlette)."""
    if request.method in SAFE_METHODS:
        return FormData()
    return await request.form()


Form = Annotated[FormData, Depends(read_form)]


async def csrf_guard(request: Request) -> None:
    """Refuse every unsafe request whose form (or htmx header) lacks this browser's token."""
    if request.method in SAFE_METHODS:
        return
    form = await request.form()
    presented = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
    if not csrf_matches(request, presented):
        raise CsrfRefused


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go back to after signing in; anything else (another host) becomes ``default``."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


async def _error_page(request: Request, status: int, title: str, message: str) -> Response:
    # Drawn with the signed-in person's navigation, in a unit of its own (off the event loop).
    return await run_in_threadpool(error_page, request, status, title, message)


_TITLES = {403: "Not allowed", 404: "Not found", 409: "Not possible now", 422: "Check what you entered"}


class WebRoute(OneThreadRoute):
    """A :class:`OneThreadRoute` whose refusals are pages, not JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except LoginRequired:
                target = request.url.path if request.method in SAFE_METHODS else "/"
                if request.method in SAFE_METHODS and request.url.query:
                    target += "?" + request.url.query
                location = "/login" if target == "/" else f"/login?next={quote(target, safe='/')}"
                if request.headers.get("hx-request") == "true":
                    return Response(status_code=204, headers={"HX-Redirect": location})
                return RedirectResponse(location, status_code=303)
            except CsrfRefused:
                return await _error_page(
                    request,
                    403,
                    "Form expired",
                    "This form was refused because its security token is missing or out of date. "
                    "Go back, reload the page and send it again.",
                )
            except LessonloopError as exc:
                title = _TITLES.get(exc.status_code, "Something is not right")
                return await _error_page(request, exc.status_code, title, exc.message)
            except IntegrityError as exc:
                log.warning("integrity error on %s %s: %s", request.method, request.url.path, exc)
                return await _error_page(
                    request, 409, "Changed meanwhile", "The change conflicts with data written meanwhile."
                )
            except OperationalError as exc:
                log.error("database error on %s %s: %s", request.method, request.url.path, exc)
                return await _error_page(
                    request, 503, "Unavailable", "The database is unavailable or busy; retry shortly."
                )

        return handler
