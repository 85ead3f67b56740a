"""The JSON API, mounted at ``/api/v1`` by :func:`lessonloop.app.create_app`.

Routers are thin: a pydantic request model validates the input, a service does the work inside
the request's transaction (:data:`lessonloop.api.deps.DbSession`), a schema from the concept
package is the response. Every route depends on :func:`lessonloop.api.deps.current_actor`, which
needs an API token (``Authorization: Bearer``) or the web session cookie — else 401 — and routers
pass the signed-in person's ``viewer`` to the services, which filter by the access policy.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from lessonloop.api import (
    actions,
    auth,
    coaching,
    discussion,
    documents,
    experiments,
    export,
    failures,
    lessons,
    notifications,
    people,
    reflections,
    review_templates,
    reviews,
    search,
    signals,
)
from lessonloop.api.common import API_PREFIX
from lessonloop.api.deps import current_actor
from lessonloop.api.text_guard import refuse_unstorable_text
from lessonloop.integrations.trackers import api as trackers
from lessonloop.integrations.webhooks import api as event_webhooks

__all__ = ["API_PREFIX", "build_router"]


def build_router() -> APIRouter:
    """All API routes, without the prefix. Built per app, so nothing is shared between apps."""
    # Signed in first (401 before anything about the input), then no unstorable text in the body.
    router = APIRouter(dependencies=[Depends(current_actor), Depends(refuse_unstorable_text)])
    modules = (
        failures,
        reviews,
        review_templates,
        actions,
        experiments,
        lessons,
        people,
        search,
        signals,
        coaching,
        export,
        documents,
        discussion,
        auth,
        notifications,
        reflections,
        trackers,
        event_webhooks,
    )
    for module in modules:
        router.include_router(module.router)
    from lessonloop.api import sign_in

    router.include_router(sign_in.router)  # /admin/sign-in: password sign-in on or off (single sign-on)
    return router
