"""The server-rendered pages: sign-in, the dashboard and every step of the loop.

``install(app)`` mounts them at ``/`` beside the JSON API (``/api/v1`` is left untouched): the
page routes, ``/static`` (the stylesheet and a vendored htmx) and the security headers. Routes
are thin — read the form, call a service with the signed-in person's viewer, render a template —
and every POST carries a CSRF token (:mod:`lessonloop.web.security`).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from lessonloop.accounts.throttle import LoginThrottle
from lessonloop.web.context import csrf_guard
from lessonloop.web.security import SecurityHeadersMiddleware

__all__ = ["build_router", "install"]


def build_router() -> APIRouter:
    from lessonloop.web.pages import (
        actions,
        auth,
        coaching,
        directory,
        discussion,
        documents,
        editing,
        failures,
        followthrough,
        home,
        insights,
        lessons,
        notifications,
        reflections,
        review,
        review_templates,
        revising,
    )

    router = APIRouter(dependencies=[Depends(csrf_guard)], include_in_schema=False)
    for module in (
        auth,
        home,
        editing,
        revising,
        failures,
        review,
        review_templates,
        actions,
        lessons,
        insights,
        directory,
        documents,
        discussion,
        coaching,
        followthrough,
        notifications,
        reflections,
    ):
        router.include_router(module.router)
    from lessonloop.integrations.sso import pages as sso_pages

    router.include_router(sso_pages.router)  # single sign-on and the sign-in settings page
    from lessonloop.integrations.trackers import web as tracker_pages

    router.include_router(tracker_pages.router)  # push an action to its team's issue tracker
    from lessonloop.integrations.webhooks import pages as event_webhook_pages

    router.include_router(event_webhook_pages.router)  # admins' event webhook endpoints
    return router


def install(app: FastAPI, *, api_prefix: str) -> None:
    """Mount the pages, the static files and the security headers on ``app``."""
    app.state.login_throttle = LoginThrottle()  # per app: failed sign-ins per client address
    app.include_router(build_router())
    app.mount("/static", StaticFiles(packages=[("lessonloop.web", "static")]), name="static")
    app.add_middleware(SecurityHeadersMiddleware, skip_prefix=api_prefix)
