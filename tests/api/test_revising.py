"""Correcting over the API: PATCH a lesson, unpublish and retract it; PATCH an experiment and
PATCH or DELETE one of its observations (the verdict is recomputed), or DELETE it. Refusals: 403 for who may
see but not change, 404 for who may not see."""

from __future__ import annotations

from fastapi.testclient import TestClient

from lessonloop.store.engine import Database
from tests.api.conftest import API, as_user, conduct, day, ok, setup_people


def _api_lesson(client: TestClient) -> int:
    setup_people(client)
    fid = ok(
        client.post(
            f"{API}/failures", json={"title": "Refunds stuck", "team": "Payments", "reporter": "ana"}
        ),
        201,
    )["id"]
    body = {"title": "Date it", "learned": "Slips", "failures": [fid], "publish": True}
    return int(ok(client.post(f"{API}/lessons", json=body), 201)["id"])


def test_api_patch_unpublish_and_retract(client: TestClient) -> None:
    lid = _api_lesson(client)
    body = ok(
        client.patch(f"{API}/lessons/{lid}", json={"title": "Date every dependency", "changed": "A step"})
    )
    assert (body["title"], body["changed"], body["learned"]) == ("Date every dependency", "A step", "Slips")
    assert ok(client.post(f"{API}/lessons/{lid}/unpublish"))["published_at"] is None
    assert client.post(f"{API}/lessons/{lid}/retract", json={"reason": "wrong"}).status_code == 409
    ok(client.post(f"{API}/lessons/{lid}/publish"))
    assert client.post(f"{API}/lessons/{lid}/retract", json={}).status_code == 422
    retracted = ok(client.post(f"{API}/lessons/{lid}/retract", json={"reason": "It was wrong"}))
    assert retracted["retraction_reason"] == "It was wrong" and retracted["retracted_at"]
    assert ok(client.get(f"{API}/lessons"))["total"] == 0
    assert [x["id"] for x in ok(client.get(f"{API}/lessons", params={"retracted": "true"}))["items"]] == [lid]
    assert client.patch(f"{API}/lessons/{lid}", json={"title": "x"}).status_code == 409


def test_api_refuses_an_editor_who_may_not_and_hides_what_one_may_not_see(
    client: TestClient, db: Database
) -> None:
    lid = _api_lesson(client)
    assert (
        client.patch(f"{API}/lessons/{lid}", json={"title": "x"}, headers=as_user(db, "ben")).status_code
        == 403
    )
    ok(client.post(f"{API}/teams", json={"name": "Growth"}), 201)
    ok(client.post(f"{API}/people", json={"name": "Gil", "handle": "gil"}), 201)
    ok(client.post(f"{API}/teams/Growth/members", json={"person": "gil", "role": "lead"}))
    gil = as_user(db, "gil")  # may not see Payments' team failure, so not the lesson either
    assert client.patch(f"{API}/lessons/{lid}", json={"title": "x"}, headers=gil).status_code == 404
    assert client.post(f"{API}/lessons/{lid}/unpublish", headers=gil).status_code == 404
    assert client.post(f"{API}/lessons/{lid}/retract", json={"reason": "r"}, headers=gil).status_code == 404
    assert client.patch(f"{API}/lessons/{lid}", json={"author": "gil"}).status_code == 422


def _api_experiment(client: TestClient) -> tuple[int, int, int]:
    """A team failure of Payments reported by ana, reviewed (ben owns the action), an experiment
    (success if the latest value is >= 3) with observations 1 then 5: its id and those of the two."""
    setup_people(client)
    fid = ok(
        client.post(
            f"{API}/failures", json={"title": "Refunds stuck", "team": "Payments", "reporter": "ana"}
        ),
        201,
    )["id"]
    ok(conduct(client, fid), 201)
    action = ok(client.get(f"{API}/actions", params={"failure": fid}))["items"][0]
    body = {
        "action_id": action["id"],
        "hypothesis": "A dated check helps",
        "metric": "dated deps",
        "comparator": ">=",
        "threshold": 3,
        "end_date": day(30),
    }
    eid = ok(client.post(f"{API}/experiments", json=body), 201)["id"]
    ok(client.post(f"{API}/experiments/{eid}/observations", json={"value": 1, "observed_at": day(-2)}), 201)
    last = ok(
        client.post(f"{API}/experiments/{eid}/observations", json={"value": 5, "observed_at": day(-1)}), 201
    )
    first_id, latest_id = (o["id"] for o in last["observations"])
    assert last["verdict"] == "passed"
    return eid, first_id, latest_id


def test_api_patch_an_experiment_recomputes_its_verdict(client: TestClient) -> None:
    eid, _first, _latest = _api_experiment(client)
    body = ok(
        client.patch(f"{API}/experiments/{eid}", json={"threshold": 10, "metric": "dated dependencies"})
    )
    assert (body["threshold"], body["metric"], body["verdict"]) == (10, "dated dependencies", "failed")
    assert client.patch(f"{API}/experiments/{eid}", json={"end_date": day(-400)}).status_code == 422
    assert client.patch(f"{API}/experiments/{eid}", json={"action_id": 1}).status_code == 422


def test_api_correct_and_delete_an_observation(client: TestClient) -> None:
    eid, first, latest = _api_experiment(client)
    body = ok(
        client.patch(f"{API}/experiments/{eid}/observations/{latest}", json={"value": 2, "note": "typo"})
    )
    assert body["verdict"] == "failed" and body["observations"][-1]["note"] == "typo"
    body = ok(client.delete(f"{API}/experiments/{eid}/observations/{latest}"))
    assert [o["id"] for o in body["observations"]] == [first] and body["verdict"] == "failed"
    assert client.delete(f"{API}/experiments/{eid}/observations/{latest}").status_code == 404


def test_api_observation_edits_follow_who_may_run_the_experiment(client: TestClient, db: Database) -> None:
    eid, first, _latest = _api_experiment(client)
    ok(client.post(f"{API}/people", json={"name": "Cy Member", "handle": "cy"}), 201)
    ok(client.post(f"{API}/teams/Payments/members", json={"person": "cy"}))
    cy = as_user(db, "cy")  # sees the team failure, neither owns the action nor may change it
    assert client.patch(f"{API}/experiments/{eid}", json={"threshold": 1}, headers=cy).status_code == 403
    path = f"{API}/experiments/{eid}/observations/{first}"
    assert client.patch(path, json={"value": 9}, headers=cy).status_code == 403
    assert client.delete(path, headers=cy).status_code == 403
    ben = as_user(db, "ben")  # owns the action
    assert ok(client.patch(path, json={"value": 9}, headers=ben))["observations"][0]["value"] == 9
    ok(client.post(f"{API}/teams", json={"name": "Growth"}), 201)
    ok(client.post(f"{API}/people", json={"name": "Gil", "handle": "gil"}), 201)
    ok(client.post(f"{API}/teams/Growth/members", json={"person": "gil", "role": "lead"}))
    gil = as_user(db, "gil")  # may not see the failure
    assert client.patch(f"{API}/experiments/{eid}", json={"threshold": 1}, headers=gil).status_code == 404
    assert client.delete(path, headers=gil).status_code == 404


def test_api_delete_an_experiment(client: TestClient, db: Database) -> None:
    eid, _first, _latest = _api_experiment(client)
    ok(client.post(f"{API}/people", json={"name": "Cy Member", "handle": "cy"}), 201)
    ok(client.post(f"{API}/teams/Payments/members", json={"person": "cy"}))
    cy = as_user(db, "cy")  # sees the team failure, neither owns the action nor may change it
    assert client.delete(f"{API}/experiments/{eid}", headers=cy).status_code == 403
    ben = as_user(db, "ben")  # owns the action
    deleted = client.delete(f"{API}/experiments/{eid}", headers=ben)
    assert deleted.status_code == 204 and deleted.content == b""
    assert client.get(f"{API}/experiments/{eid}").status_code == 404
    assert client.delete(f"{API}/experiments/{eid}").status_code == 404
