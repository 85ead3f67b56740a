"""An HTTP client on the app built around the test's database (both backends with ``db``).

``client`` is signed in as ``admin``, an org admin in no team, with an API token; requests as
someone else pass ``headers=as_user(db, "ana")``. ``anon`` sends no credentials.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lessonloop.accounts.models import Account
from lessonloop.accounts.service import account_of, issue_token
from lessonloop.app import create_app
from lessonloop.people.service import add_person, get_person
from lessonloop.store.engine import Database
from tests.factories import SYSTEM

API = "/api/v1"
ADMIN = "admin"


def as_user(db: Database, handle: str, *, admin: bool = False, name: str | None = None) -> dict[str, str]:
    """``Authorization`` headers for ``handle`` (created when missing; ``admin``: an org admin).

    No real password: the account's hash is unusable (API tokens do not need one) and cheap.
    """
    with db.unit(actor="test") as session:
        try:
            person = get_person(session, handle, viewer=SYSTEM)
        except Exception:
            person = add_person(session, name=name or handle.title(), handle=handle, viewer=SYSTEM)
        if admin and account_of(session, person) is None:
            session.add(Account(person=person, password_hash="!unusable", is_admin=True, failed_logins=0))
            session.flush()
        _token, plaintext = issue_token(session, person, "tests")
    return {"Authorization": f"Bearer {plaintext}"}


@pytest.fixture
def admin_headers(db: Database) -> dict[str, str]:
    return as_user(db, ADMIN, admin=True, name="Org Admin")


@pytest.fixture
def client(db: Database, admin_headers: dict[str, str]) -> Iterator[TestClient]:
    """Signed in as the org admin ``admin`` (a person in no team)."""
    with TestClient(create_app(database=db), headers=admin_headers) as test_client:
        yield test_client


@pytest.fixture
def anon(db: Database) -> Iterator[TestClient]:
    """No credentials at all."""
    with TestClient(create_app(database=db)) as test_client:
        yield test_client


def others(people: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A list of people without the signed-in ``admin`` the fixture adds."""
    return [p for p in people if p["handle"] != ADMIN]


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
