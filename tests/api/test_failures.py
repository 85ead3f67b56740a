"""Failures over HTTP: pagination, every filter, edits, deletion and the error answers."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from lessonloop.store.engine import Database
from tests.api.conftest import API, as_user, conduct, ok, setup_people


def log(client: TestClient, title: str, **fields: Any) -> Any:
    return ok(client.post(f"{API}/failures", json={"title": title, **fields}), 201)


def ids(page: Any) -> list[int]:
    return [item["id"] for item in page["items"]]


@pytest.fixture
def five(client: TestClient) -> list[int]:
    """Five failures detected on 1-5 March 2026, with different teams, kinds, severities, labels."""
    setup_people(client)
    ok(client.post(f"{API}/teams", json={"name": "Growth"}), 201)
    specs = [
        {"team": "Payments", "kind": "missed-deadline", "severity": "high", "labels": ["vendor"]},
        {"team": "Payments", "kind": "skipped-check", "severity": "low", "labels": ["release"]},
        {"team": "Growth", "kind": "missed-deadline", "severity": "high", "labels": ["vendor", "release"]},
        {"team": "Growth", "kind": "churn-after-change", "severity": "critical"},
        {"kind": "other"},
    ]
    return [
        log(client, f"Failure {n}", detected_at=f"2026-03-0{n}T09:00:00Z", **spec)["id"]
        for n, spec in enumerate(specs, 1)
    ]


def test_pagination_envelope(client: TestClient, five: list[int]) -> None:
    first = ok(client.get(f"{API}/failures", params={"page_size": 2}))
    assert {k: first[k] for k in ("total", "page", "page_size", "pages")} == {
        "total": 5,
        "page": 1,
        "page_size": 2,
        "pages": 3,
    }
    assert ids(first) == [five[4], five[3]]  # the most recently detected first
    second = ok(client.get(f"{API}/failures", params={"page": 2, "page_size": 2}))
    last = ok(client.get(f"{API}/failures", params={"page": 3, "page_size": 2}))
    assert ids(first) + ids(second) + ids(last) == list(reversed(five))
    beyond = ok(client.get(f"{API}/failures", params={"page": 9, "page_size": 2}))
    assert beyond["items"] == [] and beyond["total"] == 5
    assert ok(client.get(f"{API}/failures"))["page_size"] == 50  # the settings' default


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"team": "Payments"}, [2, 1]),
        ({"team": "growth"}, [4, 3]),  # names are case-insensitive
        ({"kind": "missed-deadline"}, [3, 1]),
        ({"severity": "high"}, [3, 1]),
        ({"label": "release"}, [3, 2]),
        ({"since": "2026-03-03"}, [5, 4, 3]),
        ({"until": "2026-03-03"}, [2, 1]),  # until is exclusive
        ({"since": "2026-03-02", "until": "2026-03-04T00:00:00Z"}, [3, 2]),
        ({"team": "Payments", "severity": "low"}, [2]),
        ({"status": "observed"}, [5, 4, 3, 2, 1]),
        ({"status": "acting"}, []),
    ],
)
def test_filters(client: TestClient, five: list[int], params: dict[str, str], expected: list[int]) -> None:
    page = ok(client.get(f"{API}/failures", params=params))
    assert ids(page) == [five[n - 1] for n in expected]
    assert page["total"] == len(expected)


def test_team_filter_by_id_and_status_after_review(client: TestClient, five: list[int]) -> None:
    team_id = ok(client.get(f"{API}/teams/Payments"))["id"]
    assert ids(ok(client.get(f"{API}/failures", params={"team": team_id}))) == [five[1], five[0]]
    ok(conduct(client, five[0]), 201)
    assert ids(ok(client.get(f"{API}/failures", params={"status": "acting"}))) == [five[0]]


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"status": "done"}, ["query", "status"]),
        ({"kind": "oops"}, ["query", "kind"]),
        ({"severity": "huge"}, ["query", "severity"]),
        ({"since": "2026-13-01"}, ["query", "since"]),
        ({"until": "yesterday-ish"}, ["query", "until"]),
        ({"page": 0}, ["query", "page"]),
        ({"page_size": 0}, ["query", "page_size"]),
        ({"page_size": 501}, ["query", "page_size"]),
    ],
)
def test_bad_list_parameters_are_422_naming_the_field(
    client: TestClient, params: dict[str, Any], loc: list[str]
) -> None:
    response = client.get(f"{API}/failures", params=params)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail[0]["loc"] == loc and detail[0]["msg"] and detail[0]["type"]


def test_unknown_team_filter_is_404(client: TestClient) -> None:
    response = client.get(f"{API}/failures", params={"team": "Nope"})
    assert response.status_code == 404 and response.json()["field"] == "team"


@pytest.mark.parametrize(
    ("body", "loc", "kind"),
    [
        ({}, ["body", "title"], "missing"),
        ({"title": ""}, ["body", "title"], "string_too_short"),
        ({"title": "x", "kind": "bad-luck"}, ["body", "kind"], "enum"),
        ({"title": "x", "severity": "meh"}, ["body", "severity"], "enum"),
        ({"title": "x", "occurred_at": "2026-02-30"}, ["body", "occurred_at"], None),
        ({"title": "x", "impact_value": "lots"}, ["body", "impact_value"], None),
        ({"title": "x", "colour": "red"}, ["body", "colour"], "extra_forbidden"),
        # a service rule, answered in the same shape
        (
            {"title": "x", "occurred_at": "2026-03-02", "detected_at": "2026-03-01"},
            ["body", "occurred_at"],
            "value_error",
        ),
    ],
)
def test_create_refusals_are_422_with_field_details(
    client: TestClient, body: dict[str, Any], loc: list[str], kind: str | None
) -> None:
    response = client.post(f"{API}/failures", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["detail"][0]
    assert error["loc"] == loc and error["msg"]
    if kind is not None:
        assert error["type"] == kind


def test_patch_changes_only_what_is_sent(client: TestClient, five: list[int], db: Database) -> None:
    fid = five[0]
    changed = ok(
        client.patch(
            f"{API}/failures/{fid}",
            json={"title": "Renamed", "severity": "critical", "labels": ["a", "b"], "team": None},
            headers=as_user(db, "ana"),  # the lead of Payments, the failure's team
        )
    )
    assert changed["title"] == "Renamed" and changed["severity"] == "critical"
    assert changed["labels"] == ["a", "b"] and changed["team_id"] is None
    assert changed["kind"] == "missed-deadline"  # untouched
    last = ok(client.get(f"{API}/failures/{fid}/history"))[-1]
    assert last["actor"] == "ana" and last["changes"]["title"] == ["Failure 1", "Renamed"]

    refused = client.patch(f"{API}/failures/{fid}", json={"title": None})
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "title"]
    refused = client.patch(f"{API}/failures/{fid}", json={"status": "learned"})
    assert refused.status_code == 422  # status moves only through /transition
    assert ok(client.get(f"{API}/failures/{fid}"))["title"] == "Renamed"


def test_delete(client: TestClient, five: list[int]) -> None:
    ok(conduct(client, five[0]), 201)
    assert ok(client.delete(f"{API}/failures/{five[0]}"), 204) is None
    assert client.get(f"{API}/failures/{five[0]}").status_code == 404
    assert ok(client.get(f"{API}/actions"))["total"] == 0  # its actions went with it
    assert client.delete(f"{API}/failures/{five[0]}").status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/failures/999", None),
        ("patch", "/failures/999", {"title": "x"}),
        ("delete", "/failures/999", None),
        ("post", "/failures/999/transition", {"status": "in-review"}),
        ("post", "/failures/999/repeat", {"repeat_of": 1}),
        ("get", "/failures/999/overview", None),
        ("get", "/failures/999/history", None),
        ("get", "/failures/999/review", None),
        ("post", "/reviews", {"failure_id": 999}),
        ("get", "/reviews/999", None),
        ("patch", "/reviews/999", {"root_cause": "x"}),
        ("post", "/reviews/999/complete", None),
        ("get", "/actions/999", None),
        ("post", "/actions/999/complete", {"evidence": "x"}),
        ("post", "/actions/999/drop", {"reason": "x"}),
        ("post", "/actions/999/reschedule", {"due_date": "2030-01-01"}),
        ("get", "/experiments/999", None),
        ("post", "/experiments/999/observations", {"value": 1}),
        ("get", "/lessons/999", None),
        ("post", "/lessons/999/publish", None),
        ("get", "/people/nobody", None),
        ("get", "/teams/999", None),
    ],
)
def test_unknown_ids_are_404(client: TestClient, method: str, path: str, body: Any) -> None:
    response = client.request(method.upper(), f"{API}{path}", json=body)
    assert response.status_code == 404, response.text
    assert response.json()["detail"].startswith("no ")
    assert response.json()["field"]


def test_non_numeric_id_is_422(client: TestClient) -> None:
    response = client.get(f"{API}/failures/abc")
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["path", "failure_id"]


@pytest.mark.parametrize(
    "target",
    ["acting", "re-evaluating", "learned", "observed", "repeated"],
)
def test_illegal_transitions_are_409(client: TestClient, target: str) -> None:
    fid = log(client, "Metric meant two things")["id"]
    response = client.post(f"{API}/failures/{fid}/transition", json={"status": target})
    assert response.status_code == 409, response.text
    assert response.json()["field"] == "status" and response.json()["detail"]
    assert ok(client.get(f"{API}/failures/{fid}"))["status"] == "observed"


def test_transition_with_a_bad_status_is_422(client: TestClient) -> None:
    fid = log(client, "x")["id"]
    response = client.post(f"{API}/failures/{fid}/transition", json={"status": "finished"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "status"]


def test_legal_transition_and_overview_next_steps(client: TestClient) -> None:
    fid = log(client, "x")["id"]
    moved = ok(client.post(f"{API}/failures/{fid}/transition", json={"status": "in-review"}))
    assert moved["status"] == "in-review"
    steps = {s["status"]: s for s in ok(client.get(f"{API}/failures/{fid}/overview"))["next_steps"]}
    assert steps["acting"]["allowed"] is False and "review" in steps["acting"]["reason"]


def test_repeat_refusals(client: TestClient) -> None:
    first = log(client, "first", detected_at="2026-03-01")["id"]
    second = log(client, "second", detected_at="2026-03-02")["id"]
    itself = client.post(f"{API}/failures/{first}/repeat", json={"repeat_of": first})
    assert itself.status_code == 422 and itself.json()["detail"][0]["loc"] == ["body", "repeat_of"]
    backwards = client.post(f"{API}/failures/{first}/repeat", json={"repeat_of": second})
    assert backwards.status_code == 422
    ok(client.post(f"{API}/failures/{second}/repeat", json={"repeat_of": first}))
    twice = client.post(f"{API}/failures/{second}/repeat", json={"repeat_of": first})
    assert twice.status_code == 409


def test_external_id_conflict_is_409_with_field(client: TestClient) -> None:
    log(client, "imported", external_id="PM-1")
    response = client.post(f"{API}/failures", json={"title": "again", "external_id": "PM-1"})
    assert response.status_code == 409
    assert response.json() == {"detail": response.json()["detail"], "field": "external_id"}
