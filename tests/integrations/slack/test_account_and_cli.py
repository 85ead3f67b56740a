"""Linking from the account page (a one-time code sent with ``/lessonloop link``), choosing Slack
for notifications, unlinking; the operator's CLI; and no Slack endpoint when unconfigured."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from lessonloop.accounts import crypto
from lessonloop.accounts.service import issue_token
from lessonloop.app import create_app
from lessonloop.cli import common
from lessonloop.cli.main import app as cli_app
from lessonloop.integrations.slack.links import person_for_slack_user
from lessonloop.notifications.service import preferences_of
from lessonloop.store.engine import Database
from tests.integrations.slack.conftest import SLACK, SYSTEM, Slack, slack_settings
from tests.integrations.slack.standin import SlackStandIn
from tests.web.conftest import CHEAP, Browser, csrf_of, seed_people


@pytest.fixture
def browser(
    sqlite_db: Database, standin: SlackStandIn, env: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Browser]:
    monkeypatch.setattr(crypto, "HASHER", CHEAP)
    seed_people(sqlite_db)
    with TestClient(create_app(slack_settings(sqlite_db, standin), database=sqlite_db)) as client:
        yield Browser(client)


def test_a_person_links_with_a_code_from_their_account_page(browser: Browser, sqlite_db: Database) -> None:
    assert browser.login("ben").status_code == 303
    assert 'href="/account/slack"' in browser.get("/account").text
    page = browser.get("/account/slack")
    assert "Not linked" in page.text
    shown = browser.client.post("/account/slack/code", data={"csrf_token": csrf_of(page.text)})
    assert shown.status_code == 201 and shown.headers["Cache-Control"] == "no-store"
    code = re.search(r"/lessonloop link ([A-Z0-9-]+)", shown.text).group(1)  # type: ignore[union-attr]

    slack = Slack(browser.client)
    assert "Not linked" in slack.command("link WRONG-CODE1", user="UBEN").text
    assert "Linked: in lessonloop you are Ben Member" in slack.command(f"link {code}", user="UBEN").text
    assert "unknown or has expired" in slack.command(f"link {code}", user="UOTHER").text  # used up
    with sqlite_db.unit() as session:
        assert person_for_slack_user(session, "UBEN", viewer=SLACK).handle == "ben"  # type: ignore[union-attr]

    linked = browser.get("/account/slack")
    assert "Linked to the Slack user <code>UBEN</code>" in linked.text
    account = browser.get("/account")
    saved = browser.client.post(
        "/account/notifications",
        data={"csrf_token": csrf_of(account.text), "channels": ["slack"], "email": "", "webhook_url": ""},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    with sqlite_db.unit() as session:
        assert "slack" in preferences_of(session, "ben", viewer=SYSTEM).channels

    gone = browser.client.post(
        "/account/slack/unlink", data={"csrf_token": csrf_of(linked.text)}, follow_redirects=False
    )
    assert gone.status_code == 303
    with sqlite_db.unit() as session:
        assert person_for_slack_user(session, "UBEN", viewer=SLACK) is None
    assert "not linked" in slack.command("log", user="UBEN").text


def test_someone_else_cannot_make_a_code_without_the_csrf_token(browser: Browser) -> None:
    assert browser.login("ben").status_code == 303
    assert browser.client.post("/account/slack/code", data={}).status_code == 403


def test_admins_map_and_unlink_over_the_api(
    browser: Browser, sqlite_db: Database, standin: SlackStandIn
) -> None:
    with sqlite_db.unit() as session:
        _row, admin = issue_token(session, "ana", "t")
        _row, member = issue_token(session, "ben", "t")
    api = browser.client
    as_ana = {"Authorization": f"Bearer {admin}"}
    as_ben = {"Authorization": f"Bearer {member}"}
    assert api.post("/api/v1/slack/links/by-email", json={"person": "ana"}, headers=as_ben).status_code == 403
    made = api.post("/api/v1/slack/links/by-email", json={"person": "ana"}, headers=as_ana)
    assert made.status_code == 201 and made.json()["slack_user_id"] == "UANA"
    assert api.post("/api/v1/slack/links/by-email", json={"person": "ben"}, headers=as_ana).status_code == 404
    assert [r["handle"] for r in api.get("/api/v1/slack/links", headers=as_ana).json()] == ["ana"]
    assert api.get("/api/v1/slack/links", headers=as_ben).status_code == 403
    channel = api.put(
        "/api/v1/slack/team-channels", json={"team": "Payments", "channel_id": "C0PAY"}, headers=as_ben
    )
    assert channel.status_code == 403  # ben is a plain member
    assert (
        api.put(
            "/api/v1/slack/team-channels", json={"team": "Payments", "channel_id": "C0PAY"}, headers=as_ana
        ).json()["channel_id"]
        == "C0PAY"
    )
    assert api.post("/api/v1/slack/links/unlink", json={"person": "ana"}, headers=as_ben).status_code == 403
    assert api.post("/api/v1/slack/links/unlink", json={"person": "ana"}, headers=as_ana).json() == {
        "unlinked": True
    }
    assert [c.args["email"] for c in standin.called("users.lookupByEmail")] == [
        "ana@example.com",
        "ben@example.com",
    ]


def test_no_slack_endpoint_when_not_configured(sqlite_db: Database) -> None:
    with TestClient(create_app(database=sqlite_db)) as client:
        assert client.post("/integrations/slack/events", content=b"x").status_code in (404, 405)
        assert client.get("/account/slack").status_code == 404
        assert client.get("/api/v1/slack/links").status_code == 404


def test_the_cli_maps_by_email_sets_a_channel_and_unlinks(
    sqlite_db: Database, standin: SlackStandIn, env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_people(sqlite_db)
    monkeypatch.setenv("LESSONLOOP_DATABASE_URL", sqlite_db.settings.database_url)
    common.reset()
    runner = CliRunner()
    try:
        mapped = runner.invoke(cli_app, ["slack", "map-email", "ana"])
        assert mapped.exit_code == 0, mapped.output
        assert "linked ana to Slack user UANA" in mapped.output
        missing = runner.invoke(cli_app, ["slack", "map-email", "ben"])
        assert missing.exit_code == 1 and "no Slack user" in missing.output
        assert re.search(r"ana\s+UANA\s+email:cli", runner.invoke(cli_app, ["slack", "links"]).output)
        assert "posts to C0PAY" in runner.invoke(cli_app, ["slack", "channel", "Payments", "C0PAY"]).output
        bad = runner.invoke(cli_app, ["slack", "channel", "Payments", "#general"])
        assert bad.exit_code == 1 and "not a Slack channel id" in bad.output
        assert "unlinked" in runner.invoke(cli_app, ["slack", "unlink", "ana"]).output
        assert "callback_id: ll_log_failure" in runner.invoke(cli_app, ["slack", "manifest"]).output
    finally:
        common.reset()
