"""In headless Chromium: one person comments with an @mention (on a failure, on its review), the
mentioned person is told.

The server and browser fixtures are test_browser.py's (imported: pytest finds them by name).
"""

# ruff: noqa: F811

from __future__ import annotations

from typing import Any

from lessonloop.failures.service import log_failure
from lessonloop.store.engine import Database
from tests.factories import SYSTEM, reviewed
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


def test_a_comment_on_the_review_sits_under_the_review_and_reaches_the_mentioned(
    page: Any, playwright_api: Any, sqlite_db: Database
) -> None:
    expect = playwright_api.expect
    with sqlite_db.unit(actor="test") as session:
        logged = log_failure(
            session,
            title="Refunds stuck for a day",
            visibility="team",
            team="Payments",
            reporter="ana",
            viewer=SYSTEM,
        )
        reviewed(session, logged)
        fid = logged.id

    _sign_in(page, "ana")
    page.goto(f"/failures/{fid}")
    # Two comment boxes on the page, each found by its own label: the failure's and the review's.
    expect(page.get_by_label("Add a comment")).to_have_count(1)
    page.get_by_label("Comment on the review").fill("@ben is *process* the right gap type?")
    page.get_by_role("button", name="Comment on the review").click()
    expect(page.get_by_text("Comment added. Told @ben.")).to_be_visible()
    on_review = page.locator("#review-comments")
    expect(on_review.get_by_role("heading", name="Comments on the review")).to_be_visible()
    expect(on_review.locator(".md em")).to_have_text("process")
    expect(page.locator("#comments").get_by_text("the right gap type")).to_have_count(0)

    page.context.clear_cookies()
    _sign_in(page, "ben")
    page.goto("/notifications")
    expect(page.get_by_text("Ana Lead mentioned you on review").first).to_be_visible()
    assert page.problems == []
