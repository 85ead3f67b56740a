"""Review templates over the API: anyone reads, org admins change; reviews take extra answers."""

from __future__ import annotations

from fastapi.testclient import TestClient

from lessonloop.store.engine import Database
from tests.api.conftest import API, as_user, day, ok

WHYS = {"key": "whys", "label": "Five whys", "type": "list", "max_items": 5}
TIMELINE = {"key": "timeline", "label": "Timeline", "type": "timeline"}


def test_reading_a_template_gives_the_default_for_the_kind(client: TestClient, db: Database) -> None:
    member = as_user(db, "ben")
    body = ok(client.get(f"{API}/review-templates/handoff-breakdown", headers=member))
    assert body["kind"] == "handoff-breakdown" and body["customized"] is False
    assert [q["type"] for q in body["questions"]] == ["timeline", "text", "text"]
    every = ok(client.get(f"{API}/review-templates", headers=member))
    assert len(every) == 10
    assert client.get(f"{API}/review-templates/launch-party").status_code == 404


def test_an_org_admin_replaces_a_template_and_a_member_is_refused(client: TestClient, db: Database) -> None:
    saved = ok(client.put(f"{API}/review-templates/other", json={"questions": [WHYS, TIMELINE]}))
    assert saved["customized"] and [q["key"] for q in saved["questions"]] == ["whys", "timeline"]
    refused = client.put(f"{API}/review-templates/other", json={"questions": []}, headers=as_user(db, "ben"))
    assert refused.status_code == 403
    assert client.delete(f"{API}/review-templates/other", headers=as_user(db, "ben")).status_code == 403
    assert ok(client.get(f"{API}/review-templates/other"))["questions"][0]["key"] == "whys"
    back = ok(client.delete(f"{API}/review-templates/other"))
    assert back["customized"] is False


def test_a_bad_question_is_a_422_naming_it(client: TestClient) -> None:
    bad = client.put(f"{API}/review-templates/other", json={"questions": [{"label": "", "type": "poem"}]})
    assert bad.status_code == 422


def test_reviews_accept_and_return_extra_answers(client: TestClient) -> None:
    ok(client.put(f"{API}/review-templates/other", json={"questions": [WHYS, TIMELINE]}))
    failure = ok(client.post(f"{API}/failures", json={"title": "Release notes went out late"}), 201)
    review = ok(client.post(f"{API}/reviews", json={"failure_id": failure["id"]}), 201)
    answered = ok(
        client.patch(
            f"{API}/reviews/{review['id']}",
            json={
                "extra_answers": {
                    "whys": ["The writer was on leave", "No back-up writer"],
                    "timeline": [{"time": "Mon 09:00", "text": "Release tagged"}],
                }
            },
        )
    )
    assert answered["extra_answers"]["whys"] == ["The writer was on leave", "No back-up writer"]
    assert answered["extra_answers"]["timeline"] == [{"time": "Mon 09:00", "text": "Release tagged"}]
    unknown = client.patch(f"{API}/reviews/{review['id']}", json={"extra_answers": {"mood": "x"}})
    assert unknown.status_code == 422 and "extra_answers.mood" in unknown.text


def test_conducting_a_review_in_one_call_keeps_the_extra_answers(client: TestClient) -> None:
    failure = ok(
        client.post(f"{API}/failures", json={"title": "Quarter plan slipped", "kind": "missed-deadline"}), 201
    )
    body = {
        "answers": {
            "assumption_text": "Two teams could share one release train",
            "evidence": "It worked last quarter",
            "what_changed": "Both shipped in the same week",
            "root_cause": "No capacity plan across teams",
            "gap_type": "process",
            "gap_justification": "Nothing asked for a joint plan",
            "extra_answers": {"five_whys": ["Shared train", "No joint plan"]},
        },
        "primary_action": {
            "title": "Add a joint capacity check to planning",
            "owner": "admin",
            "due_date": day(7),
        },
    }
    review = ok(client.post(f"{API}/failures/{failure['id']}/review", json=body), 201)
    assert review["extra_answers"] == {"five_whys": ["Shared train", "No joint plan"]}
    again = ok(client.get(f"{API}/failures/{failure['id']}/review"))
    assert again["extra_answers"] == review["extra_answers"]
