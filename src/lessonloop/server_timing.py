"""``Server-Timing`` on every answer: how many SQL statements a request ran and how long they took.

Off unless ``LESSONLOOP_SERVER_TIMING=1``: the figures are for whoever measures the server
(``bench/pages.py`` reports each page's queries per request from them; a browser's developer
tools show them too), and the count says something about the data behind a page that an
ordinary deployment has no reason to tell every client.

**How.** A pure ASGI middleware puts a fresh counter in a context variable for each request;
the engine's ``before/after_cursor_execute`` events add to the counter found there. Starlette
copies the context into the thread that runs the endpoint (``run_in_threadpool``), so the
statements of the request's own unit of work are counted, and a statement run outside any
request (the worker, a CLI command) finds no counter and costs one ``ContextVar.get``.
"""

from __future__ import annotations

import time
import weakref
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class RequestStats:
    __slots__ = ("db_seconds", "queries")

    def __init__(self) -> None:
        self.queries = 0
        self.db_seconds = 0.0


_CURRENT: ContextVar[RequestStats | None] = ContextVar("lessonloop_request_stats", default=None)
_STARTED = "lessonloop_statement_started"
_COUNTED: weakref.WeakSet[Engine] = weakref.WeakSet()


def count_statements(engine: Engine) -> None:
    """Count every statement ``engine`` runs into the current request's :class:`RequestStats`.

    Once per engine: two apps on one database (tests) must not count each statement twice.
    """
    if engine in _COUNTED:
        return
    _COUNTED.add(engine)

    def before(conn: Any, _cursor: Any, _statement: str, _params: Any, _context: Any, _many: bool) -> None:
        if _CURRENT.get() is not None:
            conn.info[_STARTED] = time.perf_counter()

    def after(conn: Any, _cursor: Any, _statement: str, _params: Any, _context: Any, _many: bool) -> None:
        stats = _CURRENT.get()
        started = conn.info.pop(_STARTED, None)
        if stats is not None and started is not None:
            stats.queries += 1
            stats.db_seconds += time.perf_counter() - started

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)


class ServerTimingMiddleware:
    """Adds ``Server-Timing: db;desc="N queries";dur=ms, app;dur=ms`` to every HTTP answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        stats = RequestStats()
        token = _CURRENT.set(stats)
        started = time.perf_counter()

        async def send_with_timing(message: Message) -> None:
            if message["type"] == "http.response.start":
                total_ms = (time.perf_counter() - started) * 1000
                value = (
                    f'db;desc="{stats.queries} queries";dur={stats.db_seconds * 1000:.2f}, '
                    f"app;dur={total_ms:.2f}"
                )
                headers = list(message.get("headers", []))
                headers.append((b"server-timing", value.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_timing)
        finally:
            _CURRENT.reset(token)


def parse_server_timing(value: str) -> dict[str, float]:
    """``{"queries": N, "db_ms": x, "app_ms": y}`` from a header this module wrote."""
    out: dict[str, float] = {}
    for part in value.split(","):
        name, *params = (p.strip() for p in part.split(";"))
        for param in params:
            key, _, raw = param.partition("=")
            if key == "dur":
                out[f"{name}_ms"] = float(raw)
            elif key == "desc" and name == "db":
                out["queries"] = float(raw.strip('"').split()[0])
    return out
