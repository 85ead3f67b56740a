"""An HTTP client on the app built around the test's database (both backends with ``db``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lessonloop.app import create_app
from lessonloop.store.engine import Database

API = "/api/v1"


@pytest.fixture
def client(db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(database=db)) as test_client:
        yield test_client


def day(offset: int) -> str:
    return (dt.date.today() + dt.timedelta(days=offset)).isoformat()


def ok(response: Any, status: int = 200) -> Any:
    """The JSON body, after checking the status (the body is in the message when it differs)."""
    assert response.status_code == status, (response.status_code, response.text)
    return response.json() if response.content else None


def setup_people(client: TestClient) -> None:
    """Team Payments with ana (lead) and ben (member)."""
    ok(client.post(f"{API}/teams", json={"name": "Payments"}), 201)
    ok(
        client.post(f"{API}/people", json={"name": "Ana Lead", "handle": "ana", "email": "ana@example.com"}),
        201,
    )
    ok(client.post(f"{API}/people", json={"name": "Ben Member", "handle": "ben"}), 201)
    ok(client.post(f"{API}/teams/Payments/members", json={"person": "ana", "role": "lead"}))
    ok(client.post(f"{API}/teams/Payments/members", json={"person": "ben"}))


ANSWERS: dict[str, Any] = {
    "assumption_text": "The vendor API would be ready by sprint 3",
    "evidence": "A verbal promise in a call; no written date",
    "what_changed": "The vendor re-planned after a reorg",
    "root_cause": "External dependency with no agreed date or fallback",
    "gap_type": "process",
    "gap_justification": "Nobody asked for a dated commitment: no step required one",
    "contributing_factors": ["launch date set before discovery"],
    "assumptions": ["Vendors keep verbal dates"],
}


def conduct(client: TestClient, failure_id: int, owner: str = "ben", **extra: Any) -> Any:
    body = {
        "answers": ANSWERS,
        "primary_action": {
            "title": "Add a dated dependency check to the kickoff",
            "owner": owner,
            "due_date": day(7),
        },
        **extra,
    }
    return client.post(f"{API}/failures/{failure_id}/review", json=body)
