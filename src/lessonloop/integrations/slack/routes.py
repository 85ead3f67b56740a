"""Mounting the Slack app on lessonloop's web app, only when it is configured.

``POST /integrations/slack/events`` takes every request from Slack: slash commands, shortcuts,
modal submissions and button presses (the manifest points all of them here). The body is handed
to Bolt's own request handling (``App.dispatch``) on a worker thread, off the event loop, because
the listeners read and write the database and call Slack. The signature is the credential: Bolt
answers 401 to a missing or bad one and to a stale timestamp.
"""

from __future__ import annotations

import asyncio

from fastapi import FastAPI, Request
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.responses import Response

from lessonloop.integrations.slack.bolt_app import SlackApp
from lessonloop.integrations.slack.client import is_configured
from lessonloop.settings import Settings
from lessonloop.store.engine import Database

EVENTS_PATH = "/integrations/slack/events"


def install(app: FastAPI, db: Database, settings: Settings) -> bool:
    """Mount the Slack endpoint, the account page's link section and ``/api/v1/slack`` when
    configured; returns whether it did (``app.state.slack_enabled`` tells the templates)."""
    app.state.slack_enabled = is_configured(settings)
    if not app.state.slack_enabled:
        return False
    slack = SlackApp(db, settings)
    app.state.slack = slack

    @app.post(EVENTS_PATH, include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        body = await request.body()
        # Where people open lessonloop, for links in replies: the setting, else this address.
        base = settings.slack_public_url or str(request.base_url).rstrip("/")
        bolt_request = to_bolt_request(request, body, {"public_base": base})
        answer = await asyncio.to_thread(slack.bolt.dispatch, bolt_request)
        return to_starlette_response(answer)

    from lessonloop.api.common import API_PREFIX
    from lessonloop.integrations.slack.account_page import router as account_router
    from lessonloop.integrations.slack.api import router as api_router

    app.include_router(account_router)
    app.include_router(api_router, prefix=API_PREFIX)
    return True
