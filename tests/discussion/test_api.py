"""Comments, mentions, the timeline, links and attachments over the API (both backends)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from lessonloop import limits
from lessonloop.store.engine import Database
from tests.api.conftest import API, as_user, ok
from tests.factories import SYSTEM, failure, team_with_people


@pytest.fixture
def world(db: Database) -> dict[str, Any]:
    """Team Payments (ana lead, ben member), a team failure reported by ben, cleo in no team."""
    with db.unit(actor="test") as s:
        people = team_with_people(s)
        f = failure(s, visibility="team", team=people["team"].id, reporter="ben")
        fid = f.id
    return {
        "failure": fid,
        "ana": as_user(db, "ana"),
        "ben": as_user(db, "ben"),
        "cleo": as_user(db, "cleo"),
    }


def test_comments_crud_and_only_the_author_edits(client: TestClient, world: dict[str, Any]) -> None:
    fid = world["failure"]
    made = ok(
        client.post(f"{API}/failures/{fid}/comments", json={"text": "Vendor slipped"}, headers=world["ben"]),
        201,
    )
    assert made["target_kind"] == "failure" and made["target_id"] == fid
    listed = ok(client.get(f"{API}/failures/{fid}/comments", headers=world["ana"]))
    assert [c["text"] for c in listed] == ["Vendor slipped"]
    cid = made["id"]
    assert client.patch(f"{API}/comments/{cid}", json={"text": "x"}, headers=world["ana"]).status_code == 403
    assert client.patch(f"{API}/comments/{cid}", json={"text": "x"}, headers=world["cleo"]).status_code == 404
    edited = ok(
        client.patch(f"{API}/comments/{cid}", json={"text": "Vendor slipped a week"}, headers=world["ben"])
    )
    assert edited["edited_at"] is not None
    assert client.delete(f"{API}/comments/{cid}", headers=world["ana"]).status_code == 403
    assert client.delete(f"{API}/comments/{cid}", headers=world["ben"]).status_code == 204
    assert ok(client.get(f"{API}/failures/{fid}/comments", headers=world["ben"])) == []


def test_comments_on_a_hidden_failure_are_404(client: TestClient, world: dict[str, Any]) -> None:
    fid = world["failure"]
    assert client.get(f"{API}/failures/{fid}/comments", headers=world["cleo"]).status_code == 404
    assert (
        client.post(f"{API}/failures/{fid}/comments", json={"text": "hi"}, headers=world["cleo"]).status_code
        == 404
    )


def test_a_comment_over_the_limit_is_422(client: TestClient, world: dict[str, Any]) -> None:
    fid = world["failure"]
    answer = client.post(
        f"{API}/failures/{fid}/comments", json={"text": "x" * (limits.COMMENT_MAX + 1)}, headers=world["ben"]
    )
    assert answer.status_code == 422


def test_a_mention_reaches_the_in_app_list_only_of_who_may_see(
    client: TestClient, world: dict[str, Any]
) -> None:
    fid = world["failure"]
    made = ok(
        client.post(
            f"{API}/failures/{fid}/comments", json={"text": "@ana and @cleo, look"}, headers=world["ben"]
        ),
        201,
    )
    assert made["mentions"] == ["ana"]
    ana = ok(client.get(f"{API}/notifications", headers=world["ana"]))
    items = ana["items"] if isinstance(ana, dict) else ana
    assert [n["kind"] for n in items] == ["mention"]
    cleo = ok(client.get(f"{API}/notifications", headers=world["cleo"]))
    assert (cleo["items"] if isinstance(cleo, dict) else cleo) == []


def test_the_timeline_over_the_api(client: TestClient, world: dict[str, Any]) -> None:
    fid = world["failure"]
    entry = ok(
        client.post(
            f"{API}/failures/{fid}/timeline",
            json={"at": "2026-05-01 14:05", "text": "vendor confirmed the slip"},
            headers=world["ben"],
        ),
        201,
    )
    items = ok(client.get(f"{API}/failures/{fid}/timeline", headers=world["ana"]))
    assert [i["at"] for i in items] == sorted(i["at"] for i in items)
    assert any(i["kind"] == "entry" and i["entry_id"] == entry["id"] for i in items)
    assert any(i["kind"] == "logged" for i in items)
    eid = entry["id"]
    assert client.patch(f"{API}/timeline/{eid}", json={"text": "y"}, headers=world["ana"]).status_code == 403
    ok(client.patch(f"{API}/timeline/{eid}", json={"text": "vendor confirmed"}, headers=world["ben"]))
    assert client.delete(f"{API}/timeline/{eid}", headers=world["ben"]).status_code == 204


def test_links_must_be_http(client: TestClient, world: dict[str, Any]) -> None:
    fid = world["failure"]
    bad = client.post(
        f"{API}/failures/{fid}/links", json={"url": "javascript:alert(1)"}, headers=world["ben"]
    )
    assert bad.status_code == 422
    link = ok(
        client.post(
            f"{API}/failures/{fid}/links",
            json={"url": "https://example.com/i/1", "label": "Incident"},
            headers=world["ben"],
        ),
        201,
    )
    assert [x["label"] for x in ok(client.get(f"{API}/failures/{fid}/links", headers=world["ana"]))] == [
        "Incident"
    ]
    assert client.delete(f"{API}/links/{link['id']}", headers=world["ana"]).status_code == 403
    assert client.delete(f"{API}/links/{link['id']}", headers=world["ben"]).status_code == 204


def test_an_attachment_is_downloaded_as_an_attachment_by_who_may_see(
    client: TestClient, world: dict[str, Any]
) -> None:
    fid = world["failure"]
    made = ok(
        client.post(
            f"{API}/failures/{fid}/attachments",
            files={"file": ("notes.html", b"<script>alert(1)</script>", "text/html")},
            headers=world["ben"],
        ),
        201,
    )
    assert made["filename"] == "notes.html" and made["content_type"] == "application/octet-stream"
    got = client.get(made["download"], headers=world["ana"])
    assert got.status_code == 200
    assert got.content == b"<script>alert(1)</script>"
    assert got.headers["content-type"] == "application/octet-stream"
    assert got.headers["content-disposition"].startswith('attachment; filename="notes.html"')
    assert got.headers["x-content-type-options"] == "nosniff"
    assert client.get(made["download"], headers=world["cleo"]).status_code == 404
    assert [a["id"] for a in ok(client.get(f"{API}/failures/{fid}/attachments", headers=world["ana"]))] == [
        made["id"]
    ]


def test_an_attachment_over_the_limit_is_refused_with_a_clear_message(
    client: TestClient, world: dict[str, Any]
) -> None:
    fid = world["failure"]
    big = b"\0" * (limits.ATTACHMENT_MAX_BYTES + 1)
    answer = client.post(
        f"{API}/failures/{fid}/attachments",
        files={"file": ("big.bin", big, "application/zip")},
        headers=world["ben"],
    )
    assert answer.status_code == 422
    assert "an attachment may be at most 5 MiB" in answer.text
    huge = b"\0" * (limits.UPLOAD_BODY_MAX_BYTES + 1)
    answer = client.post(
        f"{API}/failures/{fid}/attachments",
        files={"file": ("huge.bin", huge, "application/zip")},
        headers=world["ben"],
    )
    assert answer.status_code == 413
    assert "an attachment may be at most 5 MiB" in answer.json()["detail"]
    assert ok(client.get(f"{API}/failures/{fid}/attachments", headers=world["ben"])) == []


def test_comments_on_other_kinds_of_record(client: TestClient, db: Database, world: dict[str, Any]) -> None:
    with db.unit(actor="test") as s:
        from lessonloop.lessons.service import create_lesson

        lesson = create_lesson(s, title="Date it", learned="Ask", failures=[world["failure"]], viewer=SYSTEM)
        lid = lesson.id
    ok(client.post(f"{API}/lessons/{lid}/comments", json={"text": "Yes"}, headers=world["ben"]), 201)
    assert len(ok(client.get(f"{API}/lessons/{lid}/comments", headers=world["ana"]))) == 1
    assert client.get(f"{API}/lessons/{lid}/comments", headers=world["cleo"]).status_code == 404
