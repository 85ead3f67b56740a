"""The tracker sync over HTTP: the API (connect, masked secrets, push, who may), the signed
webhooks (GitHub and Jira; a bad signature is 401 and touches nothing), and the action page."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from lessonloop.accounts.service import create_account
from lessonloop.actions.models import Action
from lessonloop.app import create_app
from lessonloop.integrations.trackers.models import ActionTrackerLink
from lessonloop.integrations.trackers.webhooks import signature
from lessonloop.notifications.models import Notification
from lessonloop.people.service import add_member, get_person
from lessonloop.store.engine import Database
from lessonloop.store.history import HistoryEntry
from tests.api.conftest import as_user
from tests.factories import SYSTEM
from tests.integrations.trackers.conftest import SECRET, World
from tests.integrations.trackers.standins import JIRA_TOKEN, TOKEN
from tests.web.conftest import Browser

API = "/api/v1"


@pytest.fixture
def db(sqlite_db: Database) -> Database:
    """The adapters: SQLite is enough (test_sync.py runs the service on both backends)."""
    return sqlite_db


def _client(world: World, handle: str, *, admin: bool = False) -> TestClient:
    return TestClient(create_app(database=world.db), headers=as_user(world.db, handle, admin=admin))


def _linked(world: World) -> ActionTrackerLink:
    with _client(world, "ben") as ben:
        assert ben.post(f"{API}/actions/{world.actions[0]}/push").status_code == 202
    world.run()
    with world.db.unit() as s:
        link = s.scalar(select(ActionTrackerLink))
        assert link is not None and link.issue_key
        return link


def test_connecting_shows_secrets_masked_and_only_to_the_teams_managers(world: World) -> None:
    with _client(world, "ana") as ana:  # the team's lead
        shown = ana.get(f"{API}/teams/Payments/tracker")
        assert shown.status_code == 200, shown.text
        body = shown.json()
        token = TOKEN if world.tracker.kind == "github" else JIRA_TOKEN
        assert token not in shown.text and SECRET not in shown.text
        assert body["token"].startswith("••••") and body["webhook_secret"].startswith("••••")
        assert body["assignees"] == {"ben": "ben-gh"}
        assert body["webhook_path"] == f"/api/v1/trackers/{world.connection_id}/webhook"
        # changing the project without re-typing the secrets keeps them
        changed = ana.put(
            f"{API}/teams/Payments/tracker",
            json={
                "kind": world.tracker.kind,
                "repo": "acme/other" if world.tracker.kind == "github" else "",
                "project": "" if world.tracker.kind == "github" else "OPS",
                "server_url": world.tracker.url,
                "user": "bot@example.com" if world.tracker.kind == "jira" else "",
            },
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["token"] == body["token"] and token not in changed.text
    with _client(world, "ben") as ben:  # a member
        assert ben.get(f"{API}/teams/Payments/tracker").status_code == 403
        assert (
            ben.put(f"{API}/teams/Payments/tracker", json={"kind": "github", "repo": "a/b"}).status_code
            == 403
        )
    with _client(world, "root", admin=True) as admin:  # an org admin
        assert admin.get(f"{API}/teams/Payments/tracker").status_code == 200
        bad = admin.put(f"{API}/teams/Payments/tracker", json={"kind": "gitlab", "repo": "a/b"})
        assert bad.status_code == 422
    with world.db.unit() as s:  # nor in the history log
        logged = json.dumps([e.changes for e in s.scalars(select(HistoryEntry))])
        assert SECRET not in logged and TOKEN not in logged and JIRA_TOKEN not in logged


def test_who_may_push_an_action(world: World) -> None:
    """Whoever may work on the action: its owner, the team's lead; a member who neither owns it
    nor may change the failure is refused (403), someone who may not see it gets 404."""
    action = world.actions[0]
    carl = as_user(world.db, "carl")
    with world.db.unit(actor="setup") as s:
        add_member(s, team="Payments", person="carl", role="member", viewer=SYSTEM)
    with TestClient(create_app(database=world.db), headers=carl) as member:
        assert member.post(f"{API}/actions/{action}/push").status_code == 403
    with _client(world, "stranger") as stranger:  # in no team: the failure is the team's
        assert stranger.post(f"{API}/actions/{action}/push").status_code == 404
    with world.db.unit() as s:
        assert s.scalar(select(func.count()).select_from(ActionTrackerLink)) == 0
    with _client(world, "ana") as ana:  # the team's lead: may change the failure
        assert ana.post(f"{API}/actions/{world.actions[0]}/push").status_code == 202
    with world.db.unit(actor="setup") as s:
        s.execute(ActionTrackerLink.__table__.delete())
    with _client(world, "ben") as ben:  # the owner
        pushed = ben.post(f"{API}/actions/{action}/push")
        assert pushed.status_code == 202, pushed.text
        assert pushed.json()["state"] == "queued"
        assert ben.get(f"{API}/actions/{action}/tracker").json()["state"] == "queued"
    with world.db.unit(actor="setup") as s:
        s.execute(ActionTrackerLink.__table__.delete())
        from lessonloop.integrations.trackers.models import TrackerConnection

        s.execute(TrackerConnection.__table__.delete())
    with _client(world, "ben") as ben:
        refused = ben.post(f"{API}/actions/{action}/push")
        assert refused.status_code == 409 and "no issue tracker" in refused.text


def _post_hook(
    world: World, payload: dict[str, Any], *, secret: str = SECRET, connection: int | None = None
) -> Any:
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if world.tracker.kind == "github":
        headers |= {"X-GitHub-Event": "issues", "X-Hub-Signature-256": signature(secret, body)}
    else:
        headers |= {"X-Hub-Signature": signature(secret, body)}
    with TestClient(create_app(database=world.db)) as anon:
        return anon.post(
            f"{API}/trackers/{connection or world.connection_id}/webhook", content=body, headers=headers
        )


def _event(world: World, key: str, state: str) -> dict[str, Any]:
    if world.tracker.kind == "github":
        return {
            "action": "closed" if state == "closed" else "reopened",
            "issue": {"number": int(key), "state": state},
            "sender": {"login": "ben-gh"},
        }
    category = "done" if state == "closed" else "indeterminate"
    return {
        "webhookEvent": "jira:issue_updated",
        "issue": {"key": key, "fields": {"status": {"statusCategory": {"key": category}}}},
    }


def _counts(db: Database) -> tuple[int, int]:
    with db.unit() as s:
        return (
            s.scalar(select(func.count()).select_from(HistoryEntry)) or 0,
            s.scalar(select(func.count()).select_from(Notification)) or 0,
        )


def test_a_signed_webhook_closes_and_reopens_a_bad_signature_is_401_and_touches_nothing(world: World) -> None:
    link = _linked(world)
    before = _counts(world.db)
    refused = _post_hook(world, _event(world, link.issue_key, "closed"), secret="not-the-secret-at-all")
    assert refused.status_code == 401
    assert _post_hook(world, _event(world, link.issue_key, "closed"), connection=999).status_code == 401
    assert _counts(world.db) == before
    with world.db.unit() as s:
        assert s.scalar(select(ActionTrackerLink.issue_state)) == "open"

    closed = _post_hook(world, _event(world, link.issue_key, "closed"))
    assert closed.status_code == 200, closed.text
    assert "issue closed" in closed.json()["detail"]
    with world.db.unit() as s:
        now = s.scalar(select(ActionTrackerLink))
        assert now is not None and now.issue_state == "closed" and now.awaiting_evidence
        notes = list(s.scalars(select(Notification).where(Notification.kind == "tracker-closed")))
        assert len(notes) == 1
    assert "already known" in _post_hook(world, _event(world, link.issue_key, "closed")).json()["detail"]

    _post_hook(world, _event(world, link.issue_key, "open"))
    with world.db.unit() as s:
        again = s.scalar(select(ActionTrackerLink))
        assert again is not None and again.issue_state == "open" and not again.awaiting_evidence
        actors = {
            e.actor for e in s.scalars(select(HistoryEntry).where(HistoryEntry.record_type == "action"))
        }
        assert "system:tracker-webhook" in actors


@pytest.fixture
def ben_browser(world: World) -> Browser:
    with world.db.unit(actor="setup") as s:
        create_account(s, get_person(s, "ben", viewer=SYSTEM), password="learn-from-failure", viewer=SYSTEM)
    browser = Browser(TestClient(create_app(database=world.db)))
    assert browser.login("ben", "learn-from-failure").status_code == 303
    return browser


def test_the_action_page_pushes_shows_the_link_and_asks_for_evidence_once_closed(
    world: World, ben_browser: Browser
) -> None:
    action = world.actions[0]
    page = ben_browser.get(f"/actions/{action}")
    assert "Issue tracker" in page.text and f'action="/actions/{action}/push"' in page.text
    pushed = ben_browser.post(
        f"/actions/{action}/push", {}, form_page=f"/actions/{action}", follow_redirects=False
    )
    assert pushed.status_code == 303
    assert "waiting for the worker" in ben_browser.get(f"/actions/{action}").text
    world.run()
    with world.db.unit() as s:
        link = s.scalar(select(ActionTrackerLink))
        assert link is not None
    page = ben_browser.get(f"/actions/{action}").text
    assert link.issue_url in page and "add evidence to complete" not in page
    assert f'action="/actions/{action}/push"' not in page  # pushed once: no second button
    assert _post_hook(world, _event(world, link.issue_key, "closed")).status_code == 200
    assert "Issue closed — add evidence to complete" in ben_browser.get(f"/actions/{action}").text
    # the failure page's history tells the story, in the action's lines
    with world.db.unit() as s:
        failure_id = s.get(Action, action).failure_id  # type: ignore[union-attr]
    history = ben_browser.get(f"/failures/{failure_id}").text
    assert "Tracker issue" in history and link.issue_url in history


def test_a_webhook_for_something_else_is_acknowledged_and_changes_nothing(world: World) -> None:
    link = _linked(world)
    before = _counts(world.db)
    if world.tracker.kind == "github":
        other = {"action": "labeled", "issue": {"number": int(link.issue_key), "state": "open"}}
    else:
        other = {"webhookEvent": "comment_created", "issue": {"key": link.issue_key}}
    answer = _post_hook(world, other)
    assert answer.status_code == 200 and answer.json()["detail"].startswith("ignored")
    unknown = _post_hook(
        world, _event(world, "999" if world.tracker.kind == "github" else "PAY-999", "closed")
    )
    assert "no action is linked" in unknown.json()["detail"]
    assert _counts(world.db) == before
    # signed, but not JSON: refused after the signature check
    body = b"not json"
    header = "X-Hub-Signature-256" if world.tracker.kind == "github" else "X-Hub-Signature"
    with TestClient(create_app(database=world.db)) as anon:
        garbled = anon.post(
            f"{API}/trackers/{world.connection_id}/webhook",
            content=body,
            headers={header: signature(SECRET, body)},
        )
        unsigned = anon.post(
            f"{API}/trackers/{world.connection_id}/webhook", json=_event(world, link.issue_key, "closed")
        )
    assert garbled.status_code == 422 and unsigned.status_code == 401
