"""Actions, experiments, lessons, people and search over HTTP: filters and refusals."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import API, conduct, day, ok, others, setup_people


def new_action(client: TestClient, failure_id: int, owner: str, due: int, title: str = "Do it") -> Any:
    body = {
        "failure_id": failure_id,
        "title": title,
        "owner": owner,
        "due_date": day(due),
        "backfill": due < 0,
    }
    return ok(client.post(f"{API}/actions", json=body), 201)


@pytest.fixture
def world(client: TestClient) -> dict[str, Any]:
    """Two failures (Payments, Growth) and four actions, two of them overdue."""
    setup_people(client)
    ok(client.post(f"{API}/teams", json={"name": "Growth"}), 201)
    pay = ok(client.post(f"{API}/failures", json={"title": "Payments slip", "team": "Payments"}), 201)["id"]
    grow = ok(client.post(f"{API}/failures", json={"title": "Growth churn", "team": "Growth"}), 201)["id"]
    return {
        "pay": pay,
        "grow": grow,
        "late_ben": new_action(client, pay, "ben", -5, "late for ben")["id"],
        "late_ana": new_action(client, grow, "ana@example.com", -2, "late for ana")["id"],
        "soon_ben": new_action(client, grow, "ben", 3, "soon for ben")["id"],
        "later_ana": new_action(client, pay, "ana", 10, "later for ana")["id"],
    }


def action_ids(client: TestClient, **params: Any) -> list[int]:
    return [a["id"] for a in ok(client.get(f"{API}/actions", params=params))["items"]]


def test_action_filters(client: TestClient, world: dict[str, Any]) -> None:
    w = world
    assert action_ids(client) == [
        w["late_ben"],
        w["late_ana"],
        w["soon_ben"],
        w["later_ana"],
    ]  # earliest due first
    assert action_ids(client, owner="ben") == [w["late_ben"], w["soon_ben"]]
    assert action_ids(client, team="Growth") == [w["late_ana"], w["soon_ben"]]
    assert action_ids(client, failure=w["pay"]) == [w["late_ben"], w["later_ana"]]
    assert action_ids(client, overdue=True) == [w["late_ben"], w["late_ana"]]
    assert action_ids(client, overdue=True, owner="ana") == [w["late_ana"]]
    ok(client.post(f"{API}/actions/{w['soon_ben']}/complete", json={"evidence": "shipped"}))
    assert action_ids(client, status="done") == [w["soon_ben"]]
    assert action_ids(client, status="open", owner="ben") == [w["late_ben"]]
    page = ok(client.get(f"{API}/actions", params={"page_size": 3, "page": 2}))
    assert (page["total"], page["pages"], len(page["items"])) == (4, 2, 1)
    assert ok(client.get(f"{API}/actions/{w['late_ben']}"))["overdue"] is True


def test_overdue_grouped_by_owner(client: TestClient, world: dict[str, Any]) -> None:
    groups = ok(client.get(f"{API}/actions/overdue"))
    assert [(g["owner"]["handle"], [a["id"] for a in g["actions"]]) for g in groups] == [
        ("ben", [world["late_ben"]]),
        ("ana", [world["late_ana"]]),
    ]
    growth = ok(client.get(f"{API}/actions/overdue", params={"team": "Growth"}))
    assert [g["owner"]["handle"] for g in growth] == ["ana"]


def test_action_refusals(client: TestClient, world: dict[str, Any]) -> None:
    missing_owner = client.post(
        f"{API}/actions", json={"failure_id": world["pay"], "title": "x", "due_date": day(1)}
    )
    assert missing_owner.status_code == 422
    assert missing_owner.json()["detail"][0]["loc"] == ["body", "owner"]
    blank_owner = client.post(
        f"{API}/actions", json={"failure_id": world["pay"], "title": "x", "owner": " ", "due_date": day(1)}
    )
    assert blank_owner.status_code == 422 and blank_owner.json()["detail"][0]["loc"] == ["body", "owner"]
    bad_date = client.post(
        f"{API}/actions",
        json={"failure_id": world["pay"], "title": "x", "owner": "ben", "due_date": "2026-02-30"},
    )
    assert bad_date.status_code == 422 and bad_date.json()["detail"][0]["loc"] == ["body", "due_date"]
    review_before_due = client.post(
        f"{API}/actions",
        json={
            "failure_id": world["pay"],
            "title": "x",
            "owner": "ben",
            "due_date": day(5),
            "review_date": day(1),
        },
    )
    assert review_before_due.status_code == 422
    assert review_before_due.json()["detail"][0]["loc"] == ["body", "review_date"]
    unknown_failure = client.post(
        f"{API}/actions", json={"failure_id": 999, "title": "x", "owner": "ben", "due_date": day(1)}
    )
    assert unknown_failure.status_code == 404
    bad_status = client.get(f"{API}/actions", params={"status": "closed"})
    assert bad_status.status_code == 422 and bad_status.json()["detail"][0]["loc"] == ["query", "status"]

    aid = world["late_ben"]
    no_evidence = client.post(f"{API}/actions/{aid}/complete", json={"evidence": "  "})
    assert no_evidence.status_code == 422 and no_evidence.json()["detail"][0]["loc"] == ["body", "evidence"]
    no_reason = client.post(f"{API}/actions/{aid}/drop", json={})
    assert no_reason.status_code == 422 and no_reason.json()["detail"][0]["loc"] == ["body", "reason"]
    ok(client.post(f"{API}/actions/{aid}/drop", json={"reason": "superseded"}))
    for verb, body in (
        ("complete", {"evidence": "x"}),
        ("drop", {"reason": "x"}),
        ("reschedule", {"due_date": day(1)}),
    ):
        again = client.post(f"{API}/actions/{aid}/{verb}", json=body)
        assert again.status_code == 409 and again.json()["field"] == "status", verb


def test_reschedule(client: TestClient, world: dict[str, Any]) -> None:
    moved = ok(client.post(f"{API}/actions/{world['late_ben']}/reschedule", json={"due_date": day(4)}))
    assert moved["due_date"] == day(4) and moved["review_date"] == day(18) and moved["overdue"] is False
    moved = ok(
        client.post(
            f"{API}/actions/{world['late_ben']}/reschedule", json={"due_date": day(4), "review_date": day(6)}
        )
    )
    assert moved["review_date"] == day(6)


def test_experiment_refusals(client: TestClient, world: dict[str, Any]) -> None:
    base = {
        "action_id": world["soon_ben"],
        "hypothesis": "h",
        "metric": "m",
        "comparator": ">=",
        "threshold": 0.9,
        "start_date": day(0),
        "end_date": day(30),
    }
    bad_comparator = client.post(f"{API}/experiments", json={**base, "comparator": "~"})
    assert bad_comparator.status_code == 422 and bad_comparator.json()["detail"][0]["loc"] == [
        "body",
        "comparator",
    ]
    backwards = client.post(f"{API}/experiments", json={**base, "end_date": day(-1)})
    assert backwards.status_code == 422 and backwards.json()["detail"][0]["loc"] == ["body", "end_date"]
    assert client.post(f"{API}/experiments", json={**base, "action_id": 999}).status_code == 404
    experiment = ok(client.post(f"{API}/experiments", json={**base, "comparator": "=="}), 201)
    assert experiment["comparator"] == "="
    not_a_number = client.post(f"{API}/experiments/{experiment['id']}/observations", json={"value": "high"})
    assert not_a_number.status_code == 422 and not_a_number.json()["detail"][0]["loc"] == ["body", "value"]
    assert len(ok(client.get(f"{API}/experiments"))) == 1


def test_lessons(client: TestClient, world: dict[str, Any]) -> None:
    draft = ok(
        client.post(
            f"{API}/lessons",
            json={"title": "Draft", "learned": "x", "audience": ["Growth"], "failures": [world["grow"]]},
        ),
        201,
    )
    published = ok(
        client.post(
            f"{API}/lessons",
            json={"title": "Shared", "learned": "y", "audience": ["Payments"], "publish": True},
        ),
        201,
    )
    assert draft["published_at"] is None and published["published_at"]

    def titles(**params: Any) -> list[str]:
        return [x["title"] for x in ok(client.get(f"{API}/lessons", params=params))["items"]]

    assert sorted(titles()) == ["Draft", "Shared"]
    assert titles(published=True) == ["Shared"]
    assert titles(published=False) == ["Draft"]
    assert titles(team="Growth") == ["Draft"]
    assert titles(failure=world["grow"]) == ["Draft"]

    assert ok(client.post(f"{API}/lessons/{draft['id']}/publish"))["published_at"]
    assert client.post(f"{API}/lessons/{draft['id']}/publish").status_code == 409
    assert ok(client.get(f"{API}/lessons/{draft['id']}"))["audience"] == ["Growth"]

    missing = client.post(f"{API}/lessons", json={"title": "No body"})
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["body", "learned"]
    unknown_team = client.post(f"{API}/lessons", json={"title": "t", "learned": "l", "audience": ["Nope"]})
    assert unknown_team.status_code == 404 and unknown_team.json()["field"] == "audience"
    assert client.get(f"{API}/lessons", params={"published": "maybe"}).status_code == 422


def test_people_and_teams(client: TestClient) -> None:
    setup_people(client)
    assert [p["handle"] for p in others(ok(client.get(f"{API}/people")))] == ["ana", "ben"]
    ana = ok(client.get(f"{API}/people/ana@example.com"))
    assert ana["handle"] == "ana" and ok(client.get(f"{API}/people/{ana['id']}"))["id"] == ana["id"]
    made = ok(client.post(f"{API}/people", json={"name": "Chidi Okafor"}), 201)
    assert made["handle"] == "chidi-okafor"

    team = ok(client.get(f"{API}/teams/payments"))
    assert [(m["person"]["handle"], m["role"]) for m in team["members"]] == [
        ("ana", "lead"),
        ("ben", "member"),
    ]
    promoted = ok(client.post(f"{API}/teams/{team['id']}/members", json={"person": "ben", "role": "admin"}))
    assert promoted["role"] == "admin"
    assert [len(t["memberships"]) for t in ok(client.get(f"{API}/teams"))] == [2]

    assert client.post(f"{API}/teams", json={"name": "PAYMENTS"}).status_code == 409
    bad_handle = client.post(f"{API}/people", json={"name": "x", "handle": "Not OK"})
    assert bad_handle.status_code == 422 and bad_handle.json()["detail"][0]["loc"] == ["body", "handle"]
    bad_email = client.post(f"{API}/people", json={"name": "x", "email": "nope"})
    assert bad_email.status_code == 422 and bad_email.json()["detail"][0]["loc"] == ["body", "email"]
    bad_role = client.post(f"{API}/teams/Payments/members", json={"person": "ana", "role": "boss"})
    assert bad_role.status_code == 422 and bad_role.json()["detail"][0]["loc"] == ["body", "role"]
    unknown = client.post(f"{API}/teams/Payments/members", json={"person": "zed"})
    assert unknown.status_code == 404 and unknown.json()["field"] == "person"


def test_search(client: TestClient) -> None:
    setup_people(client)
    fid = ok(client.post(f"{API}/failures", json={"title": "Vendor slipped the payment API"}), 201)["id"]
    ok(conduct(client, fid), 201)
    ok(client.post(f"{API}/lessons", json={"title": "Vendors need dated commitments", "learned": "x"}), 201)

    kinds = {h["kind"] for h in ok(client.get(f"{API}/search", params={"q": "vendor"}))}
    assert {"failure", "lesson"} <= kinds
    only = ok(client.get(f"{API}/search", params=[("q", "vendor"), ("kind", "lesson"), ("kind", "failure")]))
    assert {h["kind"] for h in only} == {"failure", "lesson"}
    actions = ok(client.get(f"{API}/search", params={"q": "kickoff", "kind": "action"}))
    assert [(h["kind"], h["failure_id"]) for h in actions] == [("action", fid)]
    assert ok(client.get(f"{API}/search", params={"q": "vendor", "limit": 1})).__len__() == 1
    assert ok(client.get(f"{API}/search", params={"q": "!!!"})) == []  # no words, no hits, no syntax error

    for params, loc in (
        ({}, ["query", "q"]),
        ({"q": "x", "kind": "person"}, ["query", "kind", 0]),
        ({"q": "x", "limit": 0}, ["query", "limit"]),
        ({"q": "x", "limit": 201}, ["query", "limit"]),
    ):
        response = client.get(f"{API}/search", params=params)
        assert response.status_code == 422 and response.json()["detail"][0]["loc"] == loc, params
