"""The 5xx the schema fuzzing found, fixed at their root: each is now a 4xx, on both backends.

* ids no INTEGER column can hold (beyond 2**31 - 1 on PostgreSQL, beyond 2**63 - 1 anywhere)
  reached the driver: they name no record (404), and as a filter they match nothing;
* a page number whose offset overflows the driver is simply past the end;
* a time with no UTC equivalent (year 1 at +14:00, year 9999 at -12:00) is refused (422);
* NUL characters, which PostgreSQL refuses in text: refused in text fields, never matched as a
  reference (404), dropped from labels.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import API, ok, setup_people

HUGE = [2**31, 2**63, 10**40]


@pytest.mark.parametrize("number", HUGE)
def test_ids_no_column_can_hold_are_404(client: TestClient, number: int) -> None:
    for path in (
        f"/failures/{number}",
        f"/failures/{number}/overview",
        f"/reviews/{number}",
        f"/actions/{number}",
        f"/experiments/{number}",
        f"/lessons/{number}",
        f"/people/{number}",
        f"/teams/{number}",
        f"/coaching-notes/{number}",
        f"/development-plans/{number}",
    ):
        assert client.get(f"{API}{path}").status_code == 404, path
    assert client.delete(f"{API}/auth/tokens/{number}").status_code == 404
    assert client.post(f"{API}/failures/{number}/transition", json={"status": "in-review"}).status_code == 404
    for path, params in (("/actions", {"failure": number}), ("/lessons", {"failure": number})):
        assert ok(client.get(f"{API}{path}", params=params))["total"] == 0
    assert ok(client.get(f"{API}/experiments", params={"action_id": number})) == []
    body = {"failure_id": number, "title": "t", "owner": "ana", "due_date": "2030-01-01"}
    assert client.post(f"{API}/actions", json=body).status_code in (404, 422)


def test_a_page_far_past_the_end_is_empty(client: TestClient) -> None:
    ok(client.post(f"{API}/failures", json={"title": "one"}), 201)
    page = ok(client.get(f"{API}/failures", params={"page": 10**17, "page_size": 500}))
    assert page["items"] == [] and page["total"] == 1


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"])
def test_times_without_a_utc_equivalent_are_422(client: TestClient, when: str) -> None:
    for field in ("detected_at", "occurred_at"):
        refused = client.post(f"{API}/failures", json={"title": "t", field: when})
        assert refused.status_code == 422, refused.text
        assert refused.json()["detail"][0]["loc"] == ["body", field]
    assert client.get(f"{API}/failures", params={"since": when}).status_code == 422


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/failures", {"params": {"team": "a\x00b"}}, 404),
        ("GET", "/actions", {"params": {"owner": "a\x00b"}}, 404),
        ("GET", "/people/a%00b", {}, 404),
        ("GET", "/teams/a%00b", {}, 404),
        ("GET", "/coaching-notes", {"params": {"subject": "a\x00"}}, 404),
        # a NUL anywhere in a JSON body is refused the same way on both backends (issue 17)
        ("POST", "/failures", {"json": {"title": "t", "team": "a\x00"}}, 422),
        ("POST", "/failures", {"json": {"title": "t", "people": ["a\x00"]}}, 422),
        ("POST", "/failures", {"json": {"title": "t\x00"}}, 422),
        ("POST", "/people", {"json": {"name": "a\x00"}}, 422),
        ("POST", "/teams", {"json": {"name": "a\x00"}}, 422),
        ("POST", "/auth/tokens", {"json": {"name": "a\x00"}}, 422),
    ],
)
def test_nul_characters_are_never_a_server_error(
    client: TestClient, method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    setup_people(client)
    response = client.request(method, f"{API}{path}", **kwargs)
    assert response.status_code == status, response.text


def test_nul_in_labels_and_factors_is_refused_not_dropped(client: TestClient) -> None:
    """Bad input is refused, not cleaned (decision 30): the same 422 on SQLite and PostgreSQL."""
    refused = client.post(f"{API}/failures", json={"title": "t", "labels": ["ven\x00dor"]})
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "labels[0]"]
    assert ok(client.get(f"{API}/failures", params={"label": "ven\x00dor"}))["total"] == 0
    made = ok(client.post(f"{API}/failures", json={"title": "t", "labels": ["vendor"]}), 201)
    review = ok(client.post(f"{API}/reviews", json={"failure_id": made["id"]}), 201)
    refused = client.patch(f"{API}/reviews/{review['id']}", json={"contributing_factors": ["a\x00b"]})
    assert refused.status_code == 422, refused.text
    assert ok(client.get(f"{API}/reviews/{review['id']}"))["contributing_factors"] == []
