"""Choosing HR / employee assistance through the API: a reason or 422, then a 404 for a team
member who saw the escalation before."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from lessonloop.app import create_app
from lessonloop.people.service import add_member, add_person
from lessonloop.store.engine import Database
from tests.api.conftest import as_user
from tests.factories import SYSTEM, failure, team_with_people

API = "/api/v1"


@pytest.fixture
def ana(db: Database) -> Iterator[TestClient]:
    now = dt.datetime.now(dt.UTC)
    with db.unit() as s:
        people = team_with_people(s)
        cara = add_person(s, name="Cara", handle="cara", viewer=SYSTEM)
        add_member(s, team=people["team"], person=cara, role="member", viewer=SYSTEM)
        for n in (3, 2, 1):
            failure(
                s, team="Payments", labels=["release"], detected_at=(now - dt.timedelta(days=n)).isoformat()
            )
    with TestClient(create_app(database=db), headers=as_user(db, "ana")) as client:
        yield client


def test_a_lead_chooses_hr_with_a_reason_and_a_member_then_gets_404(db: Database, ana: TestClient) -> None:
    cara = as_user(db, "cara")
    ben = as_user(db, "ben")
    ana.post(f"{API}/escalations/check")
    [opened] = ana.get(f"{API}/escalations").json()
    eid = opened["id"]
    assert opened["support_route"] == "organisational-development-specialist"
    assert [e["id"] for e in ana.get(f"{API}/escalations", headers=cara).json()] == [eid]
    refused = ana.patch(
        f"{API}/escalations/{eid}", json={"support_route": "hr-business-partner", "person": "ben"}
    )
    assert refused.status_code == 422 and "reason" in refused.text
    assert ana.get(f"{API}/escalations", headers=cara).json()[0]["support_route"] == (
        "organisational-development-specialist"
    )  # nothing changed
    body = {
        "support_route": "employee-assistance",
        "reason": "Three night releases in a row",
        "person": "ben",
    }
    done = ana.patch(f"{API}/escalations/{eid}", json=body)
    assert done.status_code == 200, done.text
    assert done.json()["route_reason"] == "Three night releases in a row"
    assert [e["id"] for e in ana.get(f"{API}/escalations", headers=ben).json()] == [eid]  # the person
    assert ana.get(f"{API}/escalations", headers=cara).json() == []
    hidden = ana.patch(f"{API}/escalations/{eid}", json={"status": "acknowledged"}, headers=cara)
    assert hidden.status_code == 404
