"""What every endpoint shares: who is asking, the request's transaction, paging.

**Who is asking.** Every ``/api/v1`` route depends on :func:`current_actor` (the API router
declares it for all routes), which depends on :func:`current_principal`: the request must carry

* ``Authorization: Bearer ll_…`` — an API token (``accounts.issue_token``), or
* the web session cookie ``lessonloop_session`` (``accounts.start_session``, set by the pages).

Otherwise the answer is **401** with ``WWW-Authenticate: Bearer``. A bearer header that is present
always decides: a bad token is a 401 even when a valid cookie is sent too. The credential is
checked in a short unit of work of its own (so a token's ``last_used_at`` is kept even when the
request then fails), which also reads the person's :class:`~lessonloop.access.Viewer`.

Routers take ``viewer: CurrentViewer`` and pass ``viewer=`` to the services, which filter with
the access policy; the history log's actor is the person's handle.

A cookie is sent by the browser on its own, so a change (POST, PATCH, PUT, DELETE) authenticated
by the cookie alone is refused (403) when the browser says it comes from another site
(``Sec-Fetch-Site: cross-site``/``same-site`` or an ``Origin`` that is not this host). The cookie is
also ``SameSite=Lax``; bearer tokens are not sent by browsers on their own and need no check.

**One request is one transaction, on one thread.** :func:`db_session` yields a session from
``Database.unit``. ``DbSession`` marks it :class:`~lessonloop.api.one_thread.InRequestThread`, so
the routers' :class:`~lessonloop.api.one_thread.OneThreadRoute` opens the unit, runs the endpoint
and commits in one thread-pool call (a session that hopped threads crashed CPython 3.11 under
load). The commit runs after the endpoint returned its response model but *before* the response is
sent: a commit that fails becomes an error response, never a 200 for work that was not saved. An
exception in the endpoint rolls everything back.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Query, Request, Security
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from lessonloop.access.viewer import Viewer, viewer_for
from lessonloop.accounts.crypto import digest
from lessonloop.accounts.service import (
    TOKEN_TOUCH_INTERVAL,
    TokenHolder,
    resolve_session,
    resolve_token,
    token_holder,
)
from lessonloop.api.cache import LruCache
from lessonloop.api.one_thread import InRequestThread
from lessonloop.errors import Invalid, NotAuthenticated, PermissionDenied
from lessonloop.people.models import Person
from lessonloop.settings import Settings
from lessonloop.store.engine import Database

#: The web pages' session cookie (HttpOnly, Secure, SameSite=Lax).
SESSION_COOKIE = "lessonloop_session"
AUTH_ACTOR = "auth"  # the actor of the short unit that checks credentials (it writes no history)
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    bearerFormat="ll_…",
    description="An API token: `Authorization: Bearer ll_…` (`lessonloop token create` or "
    "`POST /api/v1/auth/tokens`). Shown once when created.",
)
cookie_scheme = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    scheme_name="session",
    description="The web pages' session cookie, for the pages' own scripts.",
)


@dataclass(frozen=True)
class Principal:
    """The signed-in person behind a request and how they proved it (``token`` or ``session``)."""

    person_id: int
    handle: str
    viewer: Viewer
    via: str


# The small dependencies below are ``async def``: FastAPI runs a sync dependency in the thread
# pool, one hop (~0.1 ms) each, and a list answer kept in the cache costs less than that.


async def get_database(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


def _refuse(message: str) -> NotAuthenticated:
    return NotAuthenticated(message, field="authorization")


def _check_same_site(request: Request) -> None:
    """Refuse a cookie-authenticated change that the browser says comes from another site."""
    if request.method not in _UNSAFE:
        return
    fetch_site = request.headers.get("sec-fetch-site")
    origin = request.headers.get("origin")
    if fetch_site is not None:
        foreign = fetch_site not in {"same-origin", "none"}
    elif origin is not None:  # an older browser: compare the Origin with the host asked
        foreign = (
            origin == "null" or urlsplit(origin).netloc.lower() != (request.headers.get("host") or "").lower()
        )
    else:
        foreign = False  # not a browser
    if foreign:
        raise PermissionDenied("cross-site request refused; use an API token", field="origin")


async def current_principal(request: Request) -> Principal:
    """Who is asking: an API token, else the web session cookie, else 401.

    It reads the credentials itself instead of taking them as sub-dependencies: FastAPI solves
    a dependency's sub-dependencies again for every parameter that depends on it, even when its
    own value is kept for the request, so each route asking for the principal, the actor or the
    viewer cost three more solves (decision 62). :func:`current_actor` declares the two schemes
    for the OpenAPI document.
    """
    database: Database = request.app.state.db
    credentials = await bearer_scheme(request)
    session_id = await cookie_scheme(request)
    header = request.headers.get("authorization")
    if header is not None and credentials is None:
        raise _refuse("use 'Authorization: Bearer <API token>'")
    if credentials is None and not session_id:
        raise _refuse("sign in: send 'Authorization: Bearer <API token>' (lessonloop token create)")
    # A bearer token's check is kept while nothing has been committed (api/cache.py): revoking
    # it, locking the account or changing a membership is a commit. Kept at most a minute, so
    # the token's last_used_at is still written about once a minute while it is in use. The
    # version is read here, on the event loop: a pragma on SQLite, one short query on PostgreSQL
    # (with a timeout: see store/version.py).
    cache: LruCache[tuple[Principal, float]] | None = request.app.state.principal_cache
    key: Hashable | None = None
    if cache is not None:
        # Read once per request, before anything else is: the response cache keys on it too.
        version = request.state.data_version = database.data_version()
        if version is not None and credentials is not None:
            key = (digest(credentials.credentials.strip()), version)
            hit = cache.get(key)
            if hit is not None and time.monotonic() - hit[1] < TOKEN_TOUCH_INTERVAL.total_seconds():
                return hit[0]
    principal = await run_in_threadpool(check_credentials, database, credentials, session_id)
    if cache is not None:
        # The check may have written (a token's last_used_at): read the version again for what
        # this request reads next. The check itself stays keyed on the version read before it.
        request.state.data_version = database.data_version()
    if principal.via == "session":
        _check_same_site(request)
    elif cache is not None and key is not None:
        cache.put(key, (principal, time.monotonic()))
    return principal


def token_principal(holder: TokenHolder) -> Principal:
    """The principal of a valid token's holder (:func:`~lessonloop.accounts.service.token_holder`)."""
    return Principal(
        person_id=holder.person_id,
        handle=holder.handle,
        viewer=Viewer.from_rule_key((holder.person_id, holder.is_admin, holder.roles)),
        via="token",
    )


def check_credentials(
    database: Database, credentials: HTTPAuthorizationCredentials | None, session_id: str | None
) -> Principal:
    """The token or session checked in a short unit of work of its own (blocking: thread pool)."""
    problem: str | None = None
    principal: Principal | None = None
    if credentials is not None:
        # A valid token with nothing to write: one statement on a plain connection, no ORM
        # session or objects (what every uncached API request asks first). Anything else (a
        # session, an unknown or revoked token, last_used_at due) takes the full check below.
        with database.engine.connect() as connection:
            holder = token_holder(connection, credentials.credentials)
        if holder is not None:
            return token_principal(holder)
    with database.unit(actor=AUTH_ACTOR) as session:
        try:
            person: Person = (
                resolve_token(session, credentials.credentials)
                if credentials is not None
                else resolve_session(session, session_id or "")
            )
        except PermissionDenied as exc:  # unknown, revoked or expired: not signed in
            problem = exc.message
        else:
            principal = Principal(
                person_id=person.id,
                handle=person.handle,
                viewer=viewer_for(session, person),
                via="token" if credentials is not None else "session",
            )
    if principal is None:
        raise _refuse(problem or "not signed in")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def current_actor(
    principal: CurrentPrincipal,
    _token: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)] = None,
    _session: Annotated[str | None, Security(cookie_scheme)] = None,
) -> str:
    """Who is making this request, as the history log records it: the person's handle.

    The single seam every route depends on (directly and through :func:`db_session`). The two
    schemes are declared here, not used: every operation lists them as its security in the
    OpenAPI document (:func:`current_principal` reads the credentials itself).
    """
    return principal.handle


async def current_viewer(principal: CurrentPrincipal) -> Viewer:
    """The signed-in person as the visibility rules see them: pass it on as ``viewer=``."""
    return principal.viewer


Actor = Annotated[str, Depends(current_actor)]
CurrentViewer = Annotated[Viewer, Depends(current_viewer)]


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(get_settings_dep)]


def db_session(actor: Actor, database: Annotated[Database, Depends(get_database)]) -> Iterator[Session]:
    """The request's unit of work: commit after the endpoint, roll back on any error."""
    with database.unit(actor=actor) as session:
        yield session


# Run in the endpoint's own thread by OneThreadRoute (see the module docstring).
DbSession = Annotated[Session, InRequestThread(db_session)]


@dataclass(frozen=True)
class PageParams:
    page: int
    page_size: int


PageNumber = Annotated[int, Query(ge=1, description="Page number, from 1.")]
PageSize = Annotated[int | None, Query(ge=1, description="Rows per page (default 50, at most 500).")]


def paging_for(settings: Settings, page: int, page_size: int | None) -> PageParams:
    size = settings.default_page_size if page_size is None else page_size
    if size > settings.max_page_size:
        raise Invalid(f"must be at most {settings.max_page_size}", field="page_size")
    return PageParams(page=page, page_size=size)


async def page_params(settings: AppSettings, page: PageNumber = 1, page_size: PageSize = None) -> PageParams:
    return paging_for(settings, page, page_size)


Paging = Annotated[PageParams, Depends(page_params)]
