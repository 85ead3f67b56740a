"""The API, the CLI and the admin page for event webhooks, and the API and CLI for a person's
chat webhook kind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from lessonloop.app import create_app
from lessonloop.people.service import add_member, add_team
from lessonloop.store.engine import Database
from tests.api.conftest import API, as_user
from tests.cli import Cli
from tests.factories import SYSTEM, failure


@pytest.fixture
def client(sqlite_db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(database=sqlite_db)) as test_client:
        yield test_client


def test_api_add_list_disable_and_deliveries(sqlite_db: Database, client: TestClient) -> None:
    admin = as_user(sqlite_db, "root", admin=True)
    made = client.post(
        f"{API}/event-webhooks",
        json={"url": "https://hooks.example.com/ll", "events": ["failure.logged"], "description": "ops bot"},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    secret, endpoint = made.json()["secret"], made.json()["endpoint"]
    assert secret.startswith("whsec_") and endpoint["team_id"] is None and endpoint["active"] is True
    listed = client.get(f"{API}/event-webhooks", headers=admin).json()
    assert [e["id"] for e in listed] == [endpoint["id"]]
    assert "secret" not in listed[0]  # shown once, never again
    with sqlite_db.unit() as s:
        failure(s, visibility="org")
    rows = client.get(f"{API}/event-webhooks/{endpoint['id']}/deliveries", headers=admin).json()
    assert [(r["event"], r["status"]) for r in rows] == [("failure.logged", "pending")]
    off = client.post(f"{API}/event-webhooks/{endpoint['id']}/disable", headers=admin)
    assert off.json()["active"] is False
    refused = client.post(
        f"{API}/event-webhooks", json={"url": "https://h.example.com", "events": ["nope"]}, headers=admin
    )
    assert refused.status_code == 422 and "unknown event" in refused.text


def test_api_a_member_may_not_add_and_sees_none(sqlite_db: Database, client: TestClient) -> None:
    member = as_user(sqlite_db, "ben")
    with sqlite_db.unit() as s:
        add_team(s, name="Payments", viewer=SYSTEM)
        add_member(s, team="Payments", person="ben", role="member", viewer=SYSTEM)
    answer = client.post(
        f"{API}/event-webhooks",
        json={"url": "https://hooks.example.com/x", "events": ["action.done"], "team": "Payments"},
        headers=member,
    )
    assert answer.status_code == 403
    assert client.get(f"{API}/event-webhooks", headers=member).json() == []


def test_api_sets_the_webhook_kind(sqlite_db: Database, client: TestClient) -> None:
    ana = as_user(sqlite_db, "ana")
    body = {
        "channels": ["webhook"],
        "webhook_url": "https://mm.example.com/hooks/abc",
        "webhook_kind": "mattermost",
    }
    answer = client.put(f"{API}/notifications/preferences", json=body, headers=ana)
    assert answer.status_code == 200, answer.text
    assert answer.json()["webhook_kind"] == "mattermost"
    wrong = client.put(f"{API}/notifications/preferences", json={"webhook_kind": "discord"}, headers=ana)
    assert wrong.status_code == 422 and "webhook_url" in wrong.text  # not a Discord URL


def test_cli_event_webhooks(sqlite_db: Database) -> None:
    cli = Cli(sqlite_db.settings.database_url)
    cli("team", "add", "Payments")
    added = cli.json(
        "event-webhook", "add", "https://hooks.example.com/t", "--team", "Payments", "-e", "action.done"
    )
    assert added["secret"].startswith("whsec_") and added["endpoint"]["events"] == ["action.done"]
    endpoint_id = str(added["endpoint"]["id"])
    assert "disabled" in cli("event-webhook", "disable", endpoint_id).stdout
    assert [e["active"] for e in cli.json("event-webhook", "list")] == [False]
    assert cli.json("event-webhook", "deliveries", endpoint_id) == []
    assert "unknown event" in cli.fails("event-webhook", "add", "https://h.example.com", "-e", "nope")


def test_cli_sets_the_webhook_kind(sqlite_db: Database) -> None:
    cli = Cli(sqlite_db.settings.database_url)
    cli("person", "add", "Ana", "--handle", "ana")
    url = "https://discord.com/api/webhooks/1/tok"
    out = cli.json(
        "notifications", "prefs", "ana", "-c", "webhook", "--webhook-url", url, "--webhook-kind", "discord"
    )
    assert out["webhook_kind"] == "discord"
