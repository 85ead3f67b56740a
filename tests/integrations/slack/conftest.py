"""The Slack app under test: a signed-request poster, the Web API stand-in, linked people."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from slack_sdk.signature import SignatureVerifier

from lessonloop.access.actor import SystemActor
from lessonloop.app import create_app
from lessonloop.integrations.slack.links import create_link_code, redeem_link_code
from lessonloop.people.service import add_member, add_person, add_team
from lessonloop.settings import Settings
from lessonloop.store.engine import Database
from tests.integrations.slack.standin import SlackStandIn

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-test-token"
SYSTEM = SystemActor("tests")
SLACK = SystemActor("slack")


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    fake = SlackStandIn(users={"ana@example.com": "UANA"})
    server = fake.start()
    yield fake
    server.shutdown()
    server.server_close()


def slack_settings(db: Database, standin: SlackStandIn) -> Settings:
    return Settings(
        database_url=db.settings.database_url,
        slack_signing_secret=SECRET,
        slack_bot_token=TOKEN,
        slack_api_url=standin.url,
        slack_public_url="https://ll.example.com",
    )


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, standin: SlackStandIn) -> None:
    """The worker's sender reads the settings from the environment, as in production."""
    monkeypatch.setenv("LESSONLOOP_SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.setenv("LESSONLOOP_SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("LESSONLOOP_SLACK_API_URL", standin.url)


class Slack:
    """Posts what Slack posts, signed with the signing secret (or not)."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def post(
        self, body: str, *, secret: str = SECRET, timestamp: int | None = None, sign: bool = True
    ) -> Any:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": ts}
        if sign:
            signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
            assert signature is not None
            headers["X-Slack-Signature"] = signature
        return self.client.post("/integrations/slack/events", content=body.encode(), headers=headers)

    def command(self, text: str, *, user: str = "UBEN", **kw: Any) -> Any:
        form = {
            "command": "/lessonloop",
            "text": text,
            "user_id": user,
            "team_id": "T1",
            "channel_id": "C0CHAN",
            "trigger_id": "13345224609.738474920.8088930838d88f008e0",
            "response_url": "https://hooks.slack.invalid/commands/1",
        }
        return self.post(urlencode(form), **kw)

    def payload(self, data: dict[str, Any], **kw: Any) -> Any:
        data = {"team": {"id": "T1"}, "api_app_id": "A1", "token": "legacy", **data}
        return self.post(urlencode({"payload": json.dumps(data)}), **kw)

    def submit(
        self, callback: str, values: dict[str, Any], *, user: str = "UBEN", metadata: str = "{}"
    ) -> Any:
        return self.payload(
            {
                "type": "view_submission",
                "user": {"id": user},
                "view": {
                    "id": "V1",
                    "type": "modal",
                    "callback_id": callback,
                    "private_metadata": metadata,
                    "state": {"values": values},
                },
            }
        )

    def press(self, action: dict[str, Any], *, user: str = "UBEN") -> Any:
        return self.payload(
            {
                "type": "block_actions",
                "user": {"id": user},
                "trigger_id": "trigger.1",
                "container": {"type": "message", "channel_id": "DBEN", "message_ts": "111.222"},
                "channel": {"id": "DBEN"},
                "message": {
                    "ts": "111.222",
                    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}],
                },
                "actions": [action],
            }
        )


def text_value(value: str) -> dict[str, Any]:
    return {"value": {"type": "plain_text_input", "value": value}}


def select_value(value: str) -> dict[str, Any]:
    return {"value": {"type": "static_select", "selected_option": {"value": value}}}


def seed(db: Database) -> dict[str, int]:
    """Payments (ana lead, ben member), Growth (gil lead); ben linked to UBEN."""
    with db.unit(actor="test") as session:
        payments = add_team(session, name="Payments", viewer=SYSTEM)
        growth = add_team(session, name="Growth", viewer=SYSTEM)
        ids: dict[str, int] = {"payments": payments.id, "growth": growth.id}
        for handle, team, role in [
            ("ana", payments, "lead"),
            ("ben", payments, "member"),
            ("gil", growth, "lead"),
        ]:
            person = add_person(
                session, name=handle.title(), handle=handle, email=f"{handle}@example.com", viewer=SYSTEM
            )
            add_member(session, team=team, person=person, role=role, viewer=SYSTEM)
            ids[handle] = person.id
        code = create_link_code(session, ids["ben"], viewer=SYSTEM)
        redeem_link_code(session, code, slack_user_id="UBEN", viewer=SLACK)
    return ids


@pytest.fixture
def world(
    sqlite_db: Database, standin: SlackStandIn, env: None
) -> Iterator[tuple[Slack, Database, dict[str, int]]]:
    ids = seed(sqlite_db)
    app = create_app(slack_settings(sqlite_db, standin), database=sqlite_db)
    with TestClient(app) as client:
        yield Slack(client), sqlite_db, ids
