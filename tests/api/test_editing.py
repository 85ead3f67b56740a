"""Editing over the API: PATCH an action, back-filled done dates, the past-due rule, correcting a
completed review."""

from __future__ import annotations

from fastapi.testclient import TestClient

from lessonloop.store.engine import Database
from tests.api.conftest import API, as_user, conduct, day, ok, setup_people


def _reviewed(client: TestClient) -> tuple[int, int, int]:
    """A team failure of Payments reported by ana, reviewed; its id, review id, primary action id."""
    setup_people(client)
    fid = ok(
        client.post(
            f"{API}/failures", json={"title": "Refunds stuck", "team": "Payments", "reporter": "ana"}
        ),
        201,
    )["id"]
    review = ok(conduct(client, fid), 201)
    action = ok(client.get(f"{API}/actions", params={"failure": fid}))["items"][0]
    return fid, review["id"], action["id"]


def test_patch_an_action_reassigns_and_moves_it(client: TestClient) -> None:
    fid, _rid, aid = _reviewed(client)
    body = ok(
        client.patch(
            f"{API}/actions/{aid}", json={"owner": "ana", "due_date": day(9), "review_date": day(40)}
        )
    )
    assert (body["owner"]["handle"], body["due_date"], body["review_date"]) == ("ana", day(9), day(40))
    last = ok(client.get(f"{API}/failures/{fid}/history"))[-1]
    assert (last["action"], last["actor"]) == ("action update", "admin")
    assert last["changes"]["due_date"] == [day(7), day(9)]


def test_patch_refuses_a_past_due_date_unless_back_filled(client: TestClient) -> None:
    _fid, _rid, aid = _reviewed(client)
    refused = client.patch(f"{API}/actions/{aid}", json={"due_date": day(-3)})
    assert refused.status_code == 422
    error = refused.json()["detail"][0]
    assert error["loc"] == ["body", "due_date"] and error["msg"].startswith("Due date ")
    assert ok(client.patch(f"{API}/actions/{aid}", json={"due_date": day(-3), "backfill": True}))[
        "due_date"
    ] == day(-3)


def test_patch_needs_one_owner_and_a_typed_body(client: TestClient) -> None:
    _fid, _rid, aid = _reviewed(client)
    assert client.patch(f"{API}/actions/{aid}", json={"owner": None}).status_code == 422
    assert client.patch(f"{API}/actions/{aid}", json={"status": "done"}).status_code == 422


def test_only_the_owner_or_an_editor_may_patch_an_action(client: TestClient, db: Database) -> None:
    _fid, _rid, aid = _reviewed(client)
    ok(client.post(f"{API}/people", json={"name": "Cy Member", "handle": "cy"}), 201)
    ok(client.post(f"{API}/teams/Payments/members", json={"person": "cy"}))
    cy = as_user(db, "cy")  # sees the team failure, neither owns the action nor may change it
    assert client.patch(f"{API}/actions/{aid}", json={"owner": "cy"}, headers=cy).status_code == 403
    ben = as_user(db, "ben")  # the owner
    assert ok(client.patch(f"{API}/actions/{aid}", json={"due_date": day(12)}, headers=ben))[
        "due_date"
    ] == day(12)


def test_a_new_action_due_in_the_past_is_a_422_at_due_date(client: TestClient) -> None:
    fid, _rid, _aid = _reviewed(client)
    body = {"failure_id": fid, "title": "Add an idempotency key", "owner": "ben", "due_date": day(-1)}
    refused = client.post(f"{API}/actions", json=body)
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "due_date"]
    assert ok(client.post(f"{API}/actions", json={**body, "backfill": True}), 201)["due_date"] == day(-1)


def test_complete_with_a_back_filled_done_date(client: TestClient) -> None:
    _fid, _rid, aid = _reviewed(client)
    future = client.post(f"{API}/actions/{aid}/complete", json={"evidence": "merged", "done_at": day(2)})
    assert future.status_code == 422 and future.json()["detail"][0]["loc"] == ["body", "done_at"]
    done = ok(client.post(f"{API}/actions/{aid}/complete", json={"evidence": "merged", "done_at": day(-4)}))
    assert done["closed_at"].startswith(day(-4))


def test_revise_a_completed_review(client: TestClient, db: Database) -> None:
    _fid, rid, _aid = _reviewed(client)
    body = ok(
        client.post(
            f"{API}/reviews/{rid}/revise", json={"root_cause": "No step asked for a date", "held_at": day(-1)}
        )
    )
    assert body["root_cause"] == "No step asked for a date" and body["held_at"].startswith(day(-1))
    assert client.post(f"{API}/reviews/{rid}/revise", json={"evidence": ""}).status_code == 422
    ben = as_user(db, "ben")  # a plain member: may see, not change
    assert (
        client.post(f"{API}/reviews/{rid}/revise", json={"root_cause": "x"}, headers=ben).status_code == 403
    )


def test_patch_a_failure_corrects_and_clears_its_reporter(client: TestClient) -> None:
    fid, _rid, _aid = _reviewed(client)
    ben = ok(client.get(f"{API}/people/ben"))["id"]
    assert ok(client.patch(f"{API}/failures/{fid}", json={"reporter": "ben"}))["reporter_id"] == ben
    last = ok(client.get(f"{API}/failures/{fid}/history"))[-1]
    assert list(last["changes"]) == ["reporter_id"]
    assert ok(client.patch(f"{API}/failures/{fid}", json={"reporter": None}))["reporter_id"] is None
    missing = client.patch(f"{API}/failures/{fid}", json={"reporter": "nobody"})
    assert missing.status_code == 404 and "reporter" in missing.text
