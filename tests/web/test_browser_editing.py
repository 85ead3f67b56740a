"""In headless Chromium: edit a failure and an action, and read both changes in the history on the
failure page (the fixtures are test_browser.py's: the real server, Debian's chromium)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from lessonloop.failures.service import log_failure
from lessonloop.store.engine import Database
from tests.factories import SYSTEM, reviewed
from tests.web.conftest import PASSWORD
from tests.web.test_browser import live_server, page, playwright_api, shot

__all__ = ["live_server", "page", "playwright_api"]


def test_edit_a_failure_and_an_action_and_see_the_history(
    page: Any,
    playwright_api: Any,
    sqlite_db: Database,
) -> None:
    expect = playwright_api.expect
    with sqlite_db.unit(actor="test") as session:
        failure = log_failure(
            session, title="Refunds stuck for a day", team="Payments", reporter="ana", viewer=SYSTEM
        )
        reviewed(session, failure, owner="ben")
        failure_id = failure.id
    due = (dt.date.today() + dt.timedelta(days=21)).isoformat()

    page.goto("/login")
    page.get_by_label("Handle or e-mail").fill("ana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Hello, Ana")).to_be_visible()

    # The failure: from its page to the edit form and back.
    page.goto(f"/failures/{failure_id}")
    page.get_by_role("link", name="Edit the failure").click()
    expect(page).to_have_url(re.compile(rf"/failures/{failure_id}/edit$"))
    page.get_by_label("Title").fill("Refunds stuck for two days")
    page.get_by_label("Severity").select_option("high")
    page.get_by_role("button", name="Save the changes").click()
    expect(page).to_have_url(re.compile(rf"/failures/{failure_id}\?history=1#history$"))
    expect(page.get_by_role("status")).to_contain_text("2 fields changed")
    expect(page.get_by_role("heading", level=1)).to_have_text("Refunds stuck for two days")

    # The action: re-assigned to another person, due later.
    page.get_by_role("link", name=re.compile("^Edit: owner, dates")).click()
    page.get_by_label("Owner (one person)").select_option("ana")
    page.locator("#f-due_date").fill(due)
    shot(page, "edit-action")
    page.get_by_role("button", name="Save the changes").click()
    expect(page.get_by_role("status")).to_contain_text("2 fields changed")

    history = page.locator("#history")
    expect(history.locator(".history-line").first).to_contain_text("Ana Lead (ana) changed Action")
    expect(history).to_contain_text("Owner: Ben Member → Ana Lead")
    expect(history).to_contain_text("Due date: ")
    expect(history).to_contain_text(due)
    expect(history).to_contain_text("Title: Refunds stuck for a day → Refunds stuck for two days")
    expect(history).to_contain_text("Severity: medium → high")
    expect(history.locator("time").first).to_have_text("just now")
    shot(page, "edit-history")
    assert page.problems == []
