"""The whole loop over HTTP: observe → interpret → act → re-evaluate, on both backends."""

from __future__ import annotations

from fastapi.testclient import TestClient

from lessonloop.store.engine import Database
from tests.api.conftest import ANSWERS, API, as_user, conduct, day, ok, setup_people


def test_the_whole_loop(client: TestClient, db: Database) -> None:
    setup_people(client)
    actor = as_user(db, "ana")  # ana logs it; the rest is done by the signed-in org admin

    # observe
    failure = ok(
        client.post(
            f"{API}/failures",
            json={
                "title": "Checkout v2 missed the Black Friday launch",
                "observation": "The vendor API slipped three weeks",
                "kind": "missed-deadline",
                "severity": "high",
                "team": "Payments",
                "reporter": "ana",
                "people": ["ben"],
                "labels": ["vendor", "launch"],
            },
            headers=actor,
        ),
        201,
    )
    fid = failure["id"]
    assert failure["status"] == "observed"
    assert failure["labels"] == ["launch", "vendor"]
    assert [p["handle"] for p in failure["people"]] == ["ben"]

    # interpret: a one-shot review
    review = ok(conduct(client, fid), 201)
    assert review["status"] == "completed" and review["gap_type"] == "process"
    assert [a["statement"] for a in review["assumptions"]] == ["Vendors keep verbal dates"]
    assert ok(client.get(f"{API}/failures/{fid}"))["status"] == "acting"
    assert ok(client.get(f"{API}/failures/{fid}/review"))["id"] == review["id"]
    assert ok(client.get(f"{API}/reviews/{review['id']}"))["root_cause"] == ANSWERS["root_cause"]

    # act: the primary action, a secondary one, an experiment
    actions = ok(client.get(f"{API}/actions", params={"failure": fid}))
    assert actions["total"] == 1
    primary = actions["items"][0]
    assert primary["is_primary"] and primary["owner"]["handle"] == "ben" and primary["due_date"] == day(7)
    assert primary["review_date"] == day(21)  # due + the default 14 days
    secondary = ok(
        client.post(
            f"{API}/actions",
            json={
                "failure_id": fid,
                "title": "Ask vendors for dated commitments",
                "owner": "ana",
                "due_date": day(3),
            },
        ),
        201,
    )
    assert not secondary["is_primary"]

    experiment = ok(
        client.post(
            f"{API}/experiments",
            json={
                "action_id": primary["id"],
                "hypothesis": "Dated checks catch slips early",
                "metric": "slipped dependencies per quarter",
                "comparator": "<=",
                "threshold": 1,
                "end_date": day(90),
            },
        ),
        201,
    )
    assert experiment["verdict"] == "inconclusive" and experiment["start_date"] == day(0)
    observed = ok(client.post(f"{API}/experiments/{experiment['id']}/observations", json={"value": 3}), 201)
    assert observed["verdict"] == "failed"
    observed = ok(
        client.post(f"{API}/experiments/{experiment['id']}/observations", json={"value": 0, "note": "Q1"}),
        201,
    )
    assert observed["verdict"] == "passed" and len(observed["observations"]) == 2
    assert ok(client.get(f"{API}/experiments/{experiment['id']}"))["verdict"] == "passed"
    assert [e["id"] for e in ok(client.get(f"{API}/experiments", params={"action_id": primary["id"]}))] == [
        experiment["id"]
    ]

    # learned is refused while the primary action is open
    client.post(f"{API}/failures/{fid}/transition", json={"status": "re-evaluating"})
    refused = client.post(f"{API}/failures/{fid}/transition", json={"status": "learned"})
    assert refused.status_code == 409 and refused.json()["field"] == "status"

    done = ok(
        client.post(f"{API}/actions/{primary['id']}/complete", json={"evidence": "Checklist v4 merged"})
    )
    assert done["status"] == "done" and done["closed_at"]
    ok(client.post(f"{API}/actions/{secondary['id']}/drop", json={"reason": "Covered by the checklist"}))

    # re-evaluate
    assert (
        ok(client.post(f"{API}/failures/{fid}/transition", json={"status": "learned"}))["status"] == "learned"
    )
    lesson = ok(
        client.post(
            f"{API}/lessons",
            json={
                "title": "Date every external dependency",
                "learned": "Verbal dates slip silently",
                "failures": [fid],
                "audience": ["Payments"],
                "author": "ana",
                "publish": True,
            },
        ),
        201,
    )
    assert lesson["failure_ids"] == [fid] and lesson["audience"] == ["Payments"] and lesson["published_at"]
    assert ok(client.get(f"{API}/lessons", params={"team": "Payments", "published": True}))["total"] == 1
    assumptions = ok(client.get(f"{API}/assumptions"))
    assert assumptions[0]["statement"] == "Vendors keep verbal dates" and assumptions[0]["failure_count"] == 1

    # a repeat of it
    later = ok(client.post(f"{API}/failures", json={"title": "The next vendor slipped too"}), 201)
    repeat = ok(client.post(f"{API}/failures/{later['id']}/repeat", json={"repeat_of": fid}))
    assert repeat["status"] == "repeated" and repeat["repeat_of_id"] == fid

    overview = ok(client.get(f"{API}/failures/{fid}/overview"))
    assert overview["failure"]["status"] == "learned"
    assert overview["review"]["id"] == review["id"]
    assert {a["status"] for a in overview["actions"]} == {"done", "dropped"}
    assert [e["verdict"] for e in overview["experiments"]] == ["passed"]
    assert [x["id"] for x in overview["lessons"]] == [lesson["id"]]
    assert overview["repeats"] == [later["id"]]
    assert overview["next_steps"] == []  # learned is final

    history = ok(client.get(f"{API}/failures/{fid}/history"))
    assert history == overview["history"]
    assert history[0]["action"] == "failure create" and history[0]["actor"] == "ana"
    assert {h["actor"] for h in history[1:]} == {"admin"}  # the client's own token

    hits = ok(client.get(f"{API}/search", params={"q": "vendor"}))
    assert {"kind": "failure", "id": fid} in [{"kind": h["kind"], "id": h["id"]} for h in hits]
    review_hits = ok(client.get(f"{API}/search", params={"q": "verbal", "kind": "review"}))
    assert [(h["kind"], h["failure_id"]) for h in review_hits] == [("review", fid)]
    assert review_hits[0]["href"] == f"{API}/reviews/{review['id']}"


def test_review_step_by_step(client: TestClient) -> None:
    setup_people(client)
    fid = ok(client.post(f"{API}/failures", json={"title": "Hand-off lost the customer's context"}), 201)[
        "id"
    ]

    review = ok(client.post(f"{API}/reviews", json={"failure_id": fid}), 201)
    assert review["status"] == "draft"
    assert ok(client.get(f"{API}/failures/{fid}"))["status"] == "in-review"
    assert ok(client.post(f"{API}/reviews", json={"failure_id": fid}), 201)["id"] == review["id"]

    rid = review["id"]
    patched = ok(
        client.patch(f"{API}/reviews/{rid}", json={"assumption_text": "Notes travel with the ticket"})
    )
    assert patched["assumption_text"] == "Notes travel with the ticket" and patched["evidence"] == ""

    missing = client.post(f"{API}/reviews/{rid}/complete")
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["body", "evidence"]

    ok(client.patch(f"{API}/reviews/{rid}", json={**ANSWERS, "reviewers": ["ana", "ben"]}))
    no_primary = client.post(f"{API}/reviews/{rid}/complete")
    assert no_primary.status_code == 422 and no_primary.json()["detail"][0]["loc"][-1] == "primary_action"

    spec = {"title": "Hand-off template with a context section", "owner": "ben", "due_date": day(5)}
    action = ok(client.post(f"{API}/reviews/{rid}/actions", json={**spec, "primary": True}), 201)
    assert action["is_primary"] and action["review_id"] == rid
    second = client.post(f"{API}/reviews/{rid}/actions", json={**spec, "primary": True})
    assert second.status_code == 409 and second.json()["field"] == "primary"
    ok(
        client.post(
            f"{API}/reviews/{rid}/actions", json={**spec, "title": "Pair on the first two hand-offs"}
        ),
        201,
    )

    completed = ok(client.post(f"{API}/reviews/{rid}/complete"))
    assert completed["status"] == "completed" and [p["handle"] for p in completed["reviewers"]] == [
        "ana",
        "ben",
    ]
    assert ok(client.get(f"{API}/failures/{fid}"))["status"] == "acting"
    again = client.patch(f"{API}/reviews/{rid}", json={"root_cause": "changed my mind"})
    assert again.status_code == 409
