"""The web application: ``create_app(settings)`` builds it; nothing happens at import time.

    /api/v1/...             the JSON API (lessonloop.api)
    /api/v1/openapi.json    its OpenAPI document; /api/v1/docs the interactive docs
    /healthz                200 when the database answers, 503 when it does not
    /                       redirects to the API docs until the web pages exist

``lessonloop serve`` runs uvicorn on ``create_app(get_settings())``; tests pass an opened
database: ``create_app(database=db)``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy import text

import lessonloop
from lessonloop.api import API_PREFIX, build_router
from lessonloop.api.errors import install_error_handlers
from lessonloop.settings import Settings, get_settings
from lessonloop.store.engine import Database

DESCRIPTION = """\
Turn a team's failures into learning signals: **observe** (log a failure) → **interpret**
(a blameless review with one primary corrective action) → **act** (actions with one owner,
experiments with a computed verdict) → **re-evaluate** (lessons, repeats).

Each request is one transaction: it is saved completely or not at all.
Until authentication arrives, send `X-Lessonloop-Actor: <name>` to name yourself in the history log.
"""


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    """Build the application.

    The database is opened (and migrated when behind) here, so a bad URL or a failing migration
    stops ``lessonloop serve`` before it listens. A ``database`` passed in belongs to the
    caller and is not closed when the app shuts down; one opened here is.
    """
    if settings is None:
        settings = database.settings if database is not None else get_settings()
    owned = database is None
    db = Database.open(settings) if database is None else database

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if owned:
                db.close()

    app = FastAPI(
        title="lessonloop",
        version=lessonloop.__version__,
        description=DESCRIPTION,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=f"{API_PREFIX}/docs/oauth2-redirect",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = db

    install_error_handlers(app)
    app.include_router(build_router(), prefix=API_PREFIX)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        try:
            with db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # any database problem means "not healthy"
            return JSONResponse({"status": "unavailable", "detail": type(exc).__name__}, status_code=503)
        return JSONResponse({"status": "ok"})

    # --- web pages ------------------------------------------------------------------------------
    # The server-rendered pages (a later issue) go here, e.g.
    #     from lessonloop.web import build_router as build_web_router
    #     app.include_router(build_web_router(), include_in_schema=False)
    #     app.mount("/static", StaticFiles(packages=[("lessonloop.web", "static")]), name="static")
    # and replace this redirect with the home page. The API's error handlers answer JSON; pages
    # that need HTML errors catch LessonloopError in their own handlers (or check the path).
    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse(f"{API_PREFIX}/docs")

    return app
