"""The admin page for event webhooks and the account page's webhook kind, through the forms."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from lessonloop.accounts import crypto
from lessonloop.app import create_app
from lessonloop.notifications import service as outbox
from lessonloop.store.engine import Database
from tests.factories import SYSTEM, failure
from tests.web.conftest import CHEAP, Browser, seed_people

PAGE = "/admin/event-webhooks"


@pytest.fixture
def browsers(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Browser]]:
    monkeypatch.setattr(crypto, "HASHER", CHEAP)
    seed_people(sqlite_db)
    out = {}
    for handle in ("ana", "gil", "cara"):
        browser = Browser(TestClient(create_app(database=sqlite_db)))
        assert browser.login(handle).status_code == 303
        out[handle] = browser
    yield out
    for browser in out.values():
        browser.client.close()


def test_an_admin_adds_sees_deliveries_and_disables(
    sqlite_db: Database, browsers: dict[str, Browser]
) -> None:
    ana = browsers["ana"]
    data = {"url": "https://hooks.example.com/ll", "events": ["failure.logged", "action.done"], "team": ""}
    answer = ana.post(PAGE, data, form_page=PAGE)
    assert answer.status_code == 200, answer.text
    secret = re.search(r'<code id="new-secret">(whsec_[^<]+)</code>', answer.text)
    assert secret is not None and answer.headers["Cache-Control"] == "no-store"
    with sqlite_db.unit() as s:
        failure(s, visibility="org", title="Pager hand-off lost")
    page = ana.get(PAGE).text
    assert "https://hooks.example.com/ll" in page and "failure.logged" in page and "pending" in page
    assert secret.group(1) not in page  # shown once
    endpoint_id = re.search(r'action="/admin/event-webhooks/(\d+)/disable"', page)
    assert endpoint_id is not None
    done = ana.post(f"{PAGE}/{endpoint_id.group(1)}/disable", {}, form_page=PAGE, follow_redirects=False)
    assert done.status_code == 303
    assert "disabled" in ana.get(PAGE).text


def test_a_lead_adds_for_their_team_only(browsers: dict[str, Browser]) -> None:
    gil = browsers["gil"]
    page = gil.get(PAGE).text
    assert "The whole organisation" not in page and "Payments" not in page
    growth = re.search(r'<option value="(\d+)"[^>]*>Growth</option>', page)
    assert growth is not None
    data = {"url": "https://hooks.example.com/g", "events": ["action.done"], "team": growth.group(1)}
    assert gil.post(PAGE, data, form_page=PAGE).status_code == 200
    assert "https://hooks.example.com/g" in gil.get(PAGE).text
    # An organisation endpoint is not offered to a lead; asked for anyway, it is refused.
    refused = gil.post(PAGE, {**data, "team": ""}, form_page=PAGE)
    assert refused.status_code == 403
    assert "https://hooks.example.com/g" not in browsers["cara"].get(PAGE).text


def test_a_member_gets_no_form(browsers: dict[str, Browser]) -> None:
    page = browsers["cara"].get(PAGE).text
    assert "Add an endpoint" not in page and "No event webhooks yet" in page


def test_the_account_page_sets_the_webhook_kind(sqlite_db: Database, browsers: dict[str, Browser]) -> None:
    cara = browsers["cara"]
    form = {
        "channels": ["webhook"],
        "email": "",
        "webhook_url": "https://mm.example.com/hooks/abc",
        "webhook_kind": "mattermost",
    }
    answer = cara.post("/account/notifications", form, form_page="/account", follow_redirects=False)
    assert answer.status_code == 303, answer.text
    with sqlite_db.unit() as s:
        assert outbox.preferences_of(s, "cara", viewer=SYSTEM).webhook_kind == "mattermost"
    assert '<option value="mattermost" selected>' in cara.get("/account").text
    wrong = {**form, "webhook_kind": "discord"}
    refused = cara.post("/account/notifications", wrong, form_page="/account")
    assert refused.status_code == 422 and "Discord" in refused.text
