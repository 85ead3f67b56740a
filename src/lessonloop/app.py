"""The web application: ``create_app(settings)`` builds it; nothing happens at import time.

    /api/v1/...             the JSON API (lessonloop.api)
    /api/v1/openapi.json    its OpenAPI document; /api/v1/docs the interactive docs
    /healthz                200 when the database answers, 503 when it does not
    /                       the web pages (lessonloop.web): sign-in, dashboard, the whole loop
    /static/...             their stylesheet and the vendored htmx
    /calendar/{token}.ics   a person's or team's iCalendar feed (the secret token is the credential)

``lessonloop serve`` runs uvicorn on ``create_app(get_settings())``; tests pass an opened
database: ``create_app(database=db)``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

import lessonloop
import lessonloop.bootstrap  # wires the layers into storage before it is opened
from lessonloop.api import API_PREFIX, build_router
from lessonloop.api.body_limit import BodyLimitMiddleware
from lessonloop.api.cache import LruCache, ResponseCache
from lessonloop.api.errors import install_error_handlers
from lessonloop.api.list_fast_path import FailureListFastPath
from lessonloop.api.security import install_security
from lessonloop.notifications.config import WorkerConfig
from lessonloop.server_timing import ServerTimingMiddleware, count_statements
from lessonloop.settings import Settings, get_settings
from lessonloop.signals.coach import use_model as use_coach_model
from lessonloop.store.base import utcnow
from lessonloop.store.engine import Database
from lessonloop.web.errors import install_page_errors
from lessonloop.worker.background import BackgroundWorker
from lessonloop.worker.runner import Clock

DESCRIPTION = """\
Turn a team's failures into learning signals: **observe** (log a failure) → **interpret**
(a blameless review with one primary corrective action) → **act** (actions with one owner,
experiments with a computed verdict) → **re-evaluate** (lessons, repeats).

Each request is one transaction: it is saved completely or not at all.

**Authentication**: send `Authorization: Bearer <API token>` with every request (create one with
`lessonloop token create --user HANDLE` or `POST /api/v1/auth/tokens`); without it the answer is
401. You see only what the visibility rules let you see: a record you may not see is a 404.
"""


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    run_worker: bool = False,
    worker_config: WorkerConfig | None = None,
    worker_clock: Clock | None = None,
) -> FastAPI:
    """Build the application.

    ``run_worker`` runs the worker's schedule on a thread of this process while the app is up
    (``lessonloop serve`` without ``--no-worker``; see :mod:`lessonloop.worker.background`).
    ``worker_config`` (default: from the environment) and ``worker_clock`` (default: the real
    time) are for tests: a fixed clock makes the background passes deterministic.

    The database is opened (and migrated when behind) here, so a bad URL or a failing migration
    stops ``lessonloop serve`` before it listens. A ``database`` passed in belongs to the
    caller and is not closed when the app shuts down; one opened here is.
    """
    if settings is None:
        settings = database.settings if database is not None else get_settings()
    owned = database is None
    # Checked before the database is opened, like the worker's settings: a coach model that
    # cannot be used stops `serve` with its reason instead of failing on the first review.
    use_coach_model(settings.coach_model)
    # Read before the database is opened: a bad worker setting stops `serve` with its own message.
    if run_worker and worker_config is None:
        worker_config = WorkerConfig.from_env()
    elif not run_worker:
        worker_config = None
    db = Database.open(settings) if database is None else database

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = (
            BackgroundWorker(db, worker_config, clock=worker_clock or utcnow)
            if worker_config is not None
            else None
        )
        app.state.worker = worker
        if worker is not None:
            worker.start()
        try:
            yield
        finally:
            if worker is not None:
                # Off the event loop: a pass may be finishing a send (bounded by the grace).
                await asyncio.to_thread(worker.stop)
            if owned:
                db.close()

    app = FastAPI(
        title="lessonloop",
        version=lessonloop.__version__,
        description=DESCRIPTION,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # served by install_security, with a CSP of its own
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = db
    # Answers and token checks kept while the data is unchanged (api/cache.py); None: off.
    app.state.response_cache = ResponseCache() if settings.api_cache else None
    app.state.principal_cache = LruCache[Any](4096) if settings.api_cache else None

    install_error_handlers(app)
    # Outside /api/v1 a dead link, a malformed address or a bug is a page in the layout.
    install_page_errors(app, api_prefix=API_PREFIX)
    # Innermost: the list's plain requests skip the routing and dependency solving, not the
    # headers and limits every answer gets (api/list_fast_path.py, decision 69).
    app.add_middleware(FailureListFastPath, api_prefix=API_PREFIX)
    # Added next, so it runs inside the security-header middlewares and its 413 carries them.
    app.add_middleware(BodyLimitMiddleware, api_prefix=API_PREFIX)
    install_security(app, api_prefix=API_PREFIX, docs_url=f"{API_PREFIX}/docs")
    if settings.server_timing:
        # Outermost, so its time covers the other middlewares too.
        count_statements(db.engine)
        app.add_middleware(ServerTimingMiddleware)
    app.include_router(build_router(), prefix=API_PREFIX)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        try:
            with db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # any database problem means "not healthy"
            return JSONResponse({"status": "unavailable", "detail": type(exc).__name__}, status_code=503)
        return JSONResponse({"status": "ok"})

    # --- calendar feeds: the secret token in the URL is the credential (no sign-in, no /api/v1) ---
    from lessonloop.calendars.routes import router as calendar_router

    app.include_router(calendar_router)

    # --- issue-tracker webhooks: the HMAC signature is the credential (no sign-in) ---
    from lessonloop.integrations.trackers.api import webhook_router as tracker_webhooks

    app.include_router(tracker_webhooks)

    # --- the Slack app (only when configured): the request signature is the credential ---
    from lessonloop.integrations.slack.routes import install as install_slack

    install_slack(app, db, settings)

    # --- web pages ------------------------------------------------------------------------------
    # The server-rendered pages at "/" (lessonloop.web): they answer HTML, never the API's JSON
    # errors, and add the security headers to everything outside the API.
    from lessonloop.web import install as install_web

    install_web(app, api_prefix=API_PREFIX)

    return app
