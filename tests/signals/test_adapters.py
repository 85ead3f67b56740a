"""Metrics, escalations and the coach through the CLI and the JSON API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lessonloop.app import create_app
from lessonloop.store.engine import Database
from tests.api.conftest import as_user
from tests.cli import Cli
from tests.factories import failure, team_with_people

API = "/api/v1"


def _seed_pattern(db: Database) -> None:
    now = dt.datetime.now(dt.UTC)
    with db.unit() as s:
        team_with_people(s)
        for n in (30, 20, 10):
            failure(
                s,
                title=f"Config push broke routing {n}",
                labels=["config"],
                team="Payments",
                detected_at=(now - dt.timedelta(days=n)).isoformat(),
            )


@pytest.fixture
def client(sqlite_db: Database) -> Iterator[TestClient]:
    headers = as_user(sqlite_db, "admin", admin=True)  # the API needs a signed-in person
    with TestClient(create_app(database=sqlite_db), headers=headers) as test_client:
        yield test_client


def test_api_metrics_json_and_csv(sqlite_db: Database, client: TestClient) -> None:
    _seed_pattern(sqlite_db)
    body = client.get(f"{API}/metrics", params={"team": "Payments"}).json()
    assert body["totals"]["failures"] == 3
    csv_text = client.get(f"{API}/metrics.csv").text
    assert csv_text.startswith("team,month,failures")
    assert client.get(f"{API}/metrics", params={"team": "Nope"}).status_code == 404
    assert client.get(f"{API}/metrics", params={"since": "not-a-date"}).status_code == 422


def test_api_escalations_check_list_resolve(sqlite_db: Database, client: TestClient) -> None:
    _seed_pattern(sqlite_db)
    opened = client.post(f"{API}/escalations/check").json()
    assert len(opened) == 1 and opened[0]["rule"] == "label" and opened[0]["count"] == 3
    assert client.post(f"{API}/escalations/check").json() == []
    eid = opened[0]["id"]
    assert client.patch(f"{API}/escalations/{eid}", json={"status": "resolved"}).status_code == 422
    done = client.patch(
        f"{API}/escalations/{eid}", json={"status": "resolved", "resolution": "Config linter added"}
    )
    assert done.json()["status"] == "resolved"
    assert client.get(f"{API}/escalations", params={"status": "resolved"}).json()[0]["id"] == eid
    assert client.patch(f"{API}/escalations/999", json={"status": "acknowledged"}).status_code == 404


def test_api_logging_completes_a_pattern_and_opens_the_escalation(
    sqlite_db: Database, client: TestClient
) -> None:
    now = dt.datetime.now(dt.UTC)
    with sqlite_db.unit() as s:
        team_with_people(s)
    for n in (3, 2, 1):
        assert client.get(f"{API}/escalations").json() == []
        logged = client.post(
            f"{API}/failures",
            json={
                "title": f"Vendor date slipped, {n} days ago",
                "team": "Payments",
                "labels": ["vendor"],
                "detected_at": (now - dt.timedelta(days=n)).isoformat(),
            },
        )
        assert logged.status_code == 201, logged.text
    (opened,) = client.get(f"{API}/escalations").json()
    assert opened["rule"] == "label" and opened["count"] == 3 and "vendor" in opened["subject"]


def test_api_coach(client: TestClient) -> None:
    body = client.post(f"{API}/coach", json={"text": "Ben was careless and should have known."}).json()
    assert {f["kind"] for f in body["findings"]} == {"blame"}
    review = client.post(
        f"{API}/coach",
        json={
            "fields": {"root_cause": "human error"},
            "actions": [{"title": "Be more careful", "owner": "ben"}],
        },
    ).json()
    assert review["actions"][0]["vague"] is True


def test_cli_metrics_and_escalations(sqlite_db: Database, tmp_path: Path) -> None:
    _seed_pattern(sqlite_db)
    cli = Cli(str(sqlite_db.engine.url))
    assert cli.json("metrics", "--team", "Payments")["totals"]["failures"] == 3
    cli("metrics", "--csv", str(tmp_path / "m.csv"))
    assert (tmp_path / "m.csv").read_text().startswith("team,month")
    assert "Learning metrics" in cli("metrics").stdout
    opened = cli.json("escalations", "check")
    assert len(opened) == 1 and opened[0]["support_route"] == "organisational-development-specialist"
    assert "config" in cli("escalations", "list").stdout
    assert "resolution" in cli.fails("escalations", "update", str(opened[0]["id"]), "--status", "resolved")
    cli("escalations", "update", str(opened[0]["id"]), "--status", "resolved", "--resolution", "Linter")
    assert cli.json("escalations", "list", "--status", "resolved")[0]["status"] == "resolved"
    assert "since" in cli.fails("metrics", "--since", "soon")
