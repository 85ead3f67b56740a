"""``GET /api/v1/failures`` without FastAPI's per-request machinery, for requests that need none of it.

The uncached list cost ~3 ms of server CPU per request in process where its own work (the token
check, the page's statement, the JSON) is ~1.4 ms: FastAPI's routing through ~250 routes, the
solving of the route's dependencies and the validation of its nine parameters, and a second
thread-pool hop for the sign-in check took the rest (decision 69). The list is what scripts and
dashboards poll.

:class:`FailureListFastPath`, a pure ASGI middleware inside the security headers, answers a
``GET`` of exactly the list's path itself when the request is *plain*: a bearer token, no body,
only the list's own parameters, each at most once, each a value whose meaning is not in doubt
(digits for the page, an enumeration's exact value, a non-empty team or label). It runs what the
route runs — the bearer scheme, :func:`~lessonloop.accounts.service.token_holder` (or
:func:`~lessonloop.api.deps.current_principal` with its cache when answers are kept),
:func:`~lessonloop.api.deps.paging_for`, :func:`~lessonloop.api.failures.failure_page_body`,
:func:`~lessonloop.api.cache.cached_json` — so the answer is the route's, byte for byte
(``tests/api/test_list_fast_path.py``). With answers not kept, the token is read in the page's
own unit of work, in one call of a small pool of threads (:data:`THREADS`): one connection,
one transaction and one thread hop per answer instead of two of each.

Anything else goes to the route, which answers it as before: an app whose dependencies are
overridden (the route's sign-in replaced: only the route honours that), no bearer token (a
session cookie, nothing), a token the route must write to (never used, or its last use due to be kept), a date
(pydantic's parsing decides those), a repeated, empty or unknown parameter, a value FastAPI
would refuse (its 422 names the problem), and any error on the way (a bad token's 401, an
unknown team's 404, a database that does not answer): the route then does the work again and
answers with its own error. A read done twice harms nothing; a refusal is never
answered differently.
"""

from __future__ import annotations

from typing import Any

import anyio
import anyio.to_thread
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from lessonloop.accounts.service import token_holder
from lessonloop.api.cache import cached_json, json_response
from lessonloop.api.deps import AUTH_ACTOR, bearer_scheme, current_principal, paging_for, token_principal
from lessonloop.api.failures import ListFilters, failure_page_body, page_in_own_unit
from lessonloop.failures.models import FailureKind, FailureStatus, Severity
from lessonloop.settings import Settings
from lessonloop.store.engine import Database

_ENUMS: dict[str, Any] = {"status": FailureStatus, "kind": FailureKind, "severity": Severity}
_NAMES = frozenset({"team", "label"})
_NUMBERS = frozenset({"page", "page_size"})
_MAX_DIGITS = 9  # more is a page no list has; the route answers it


def plain_query(query_string: bytes) -> dict[str, Any] | None:
    """The list's parameters when every one is plain (see the module docstring), else ``None``.

    Parsed by Starlette's :class:`QueryParams`, as the route's ``request.query_params`` are."""
    items = QueryParams(query_string).multi_items()
    found: dict[str, Any] = {}
    for key, value in items:
        if key in found or not value:
            return None
        if key in _NUMBERS:
            if not (value.isascii() and value.isdigit()) or len(value) > _MAX_DIGITS or int(value) < 1:
                return None
            found[key] = int(value)
        elif key in _ENUMS:
            try:
                found[key] = _ENUMS[key](value)
            except ValueError:
                return None
        elif key in _NAMES:
            found[key] = value
        else:
            return None
    return found


def _has_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return True
    return False


class _RouteAnswers(Exception):
    """The fast path stops: the route answers this request."""


#: Threads answering lists at once, per backend. More than this made each answer cost more CPU,
#: not fewer answers wait: on SQLite the work is this process's own CPU (Python holding the GIL,
#: SQLite's C beside it: two keep both cores busy). On PostgreSQL a thread mostly waits for the
#: database (the GIL is held about half the time at full load): once the page's plan was kept
#: (decision 70) eight answered 393-427 req/s at 8 connections on 2 cores against 334 with two,
#: 371-382 with four, 393-416 with twelve or sixteen (decision 69 measured four best before).
THREADS = {"sqlite": 2, "postgresql": 8}


class FailureListFastPath:
    """Answer plain ``GET {api_prefix}/failures`` requests; pass everything else to ``app``."""

    def __init__(self, app: ASGIApp, api_prefix: str) -> None:
        self.app = app
        self.path = f"{api_prefix}/failures"
        self._limiter: anyio.CapacityLimiter | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] == self.path:
            response = await self._answer(scope, receive)
            if response is not None:
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _threads(self, database: Database) -> anyio.CapacityLimiter:
        if self._limiter is None:  # made on the event loop, the first time it is needed
            self._limiter = anyio.CapacityLimiter(THREADS.get(database.engine.dialect.name, 4))
        return self._limiter

    async def _answer(self, scope: Scope, receive: Receive) -> Response | None:
        query = plain_query(scope.get("query_string", b""))
        if query is None or _has_body(scope):
            return None
        request = Request(scope, receive)
        if request.app.dependency_overrides:  # a sign-in replaced (tests, a deployment's own):
            return None  # only the route honours it
        credentials = await bearer_scheme(request)
        if credentials is None:
            return None
        settings: Settings = request.app.state.settings
        database: Database = request.app.state.db
        filters = ListFilters(**{key: query[key] for key in (*_ENUMS, *_NAMES) if key in query})
        token = credentials.credentials
        # Broad on purpose: whatever went wrong, the route answers it, with its own error.
        try:
            paging = paging_for(settings, query.get("page", 1), query.get("page_size"))
            if request.app.state.principal_cache is None and request.app.state.response_cache is None:

                def work() -> bytes:  # the token and the page in one unit, one thread-pool call
                    with database.unit(actor=AUTH_ACTOR) as session:
                        holder = token_holder(session, token)
                        if holder is None:  # unknown, revoked, or its use is due to be written
                            raise _RouteAnswers
                        principal = token_principal(holder)
                        session.info["actor"] = principal.handle  # a read: it records nothing
                        return failure_page_body(session, principal, filters, paging)

                body = await anyio.to_thread.run_sync(work, limiter=self._threads(database))
                return json_response(body, hit=False)
            principal = await current_principal(request)
            return await cached_json(
                request, principal.viewer, lambda: page_in_own_unit(database, principal, filters, paging)
            )
        except Exception:
            return None
