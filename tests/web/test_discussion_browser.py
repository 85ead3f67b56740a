"""In headless Chromium: one person comments with an @mention, the mentioned person is told.

The server and browser fixtures are test_browser.py's (imported: pytest finds them by name).
"""

# ruff: noqa: F811

from __future__ import annotations

from typing import Any

from lessonloop.failures.service import log_failure
from lessonloop.store.engine import Database
from tests.factories import SYSTEM
from tests.web.conftest import PASSWORD
from tests.web.test_browser import live_server, page, playwright_api  # noqa: F401  (fixtures)


def _sign_in(page: Any, handle: str) -> None:
    page.goto("/login")
    page.get_by_label("Handle or e-mail").fill(handle)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_mention_in_a_comment_reaches_the_mentioned_person(
    page: Any, playwright_api: Any, sqlite_db: Database
) -> None:
    expect = playwright_api.expect
    with sqlite_db.unit(actor="test") as session:
        fid = log_failure(
            session,
            title="Vendor slipped the launch",
            visibility="team",
            team="Payments",
            reporter="ana",
            viewer=SYSTEM,
        ).id

    _sign_in(page, "ana")
    page.goto(f"/failures/{fid}")
    page.get_by_label("Add a comment").fill("@ben can you check the vendor log?")
    page.get_by_role("button", name="Comment", exact=True).click()
    expect(page.get_by_text("Comment added. Told @ben.")).to_be_visible()
    comments = page.locator("#comments")
    expect(comments.locator(".md").get_by_text("can you check the vendor log?")).to_be_visible()
    expect(comments.get_by_role("link", name="@ben")).to_be_visible()

    page.context.clear_cookies()
    _sign_in(page, "ben")
    page.goto("/notifications")
    expect(page.get_by_text("Ana Lead mentioned you on failure").first).to_be_visible()
    assert page.problems == []
