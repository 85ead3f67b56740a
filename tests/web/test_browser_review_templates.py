"""In headless Chromium: an org admin adds an extra question to the review template of a failure
kind, a member answers it in the review wizard of a failure of that kind, and the post-mortem
export has the answer (the fixtures are test_browser.py's: the real server, Debian's chromium)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from lessonloop.failures.service import log_failure
from lessonloop.store.engine import Database
from tests.factories import SYSTEM
from tests.web.conftest import PASSWORD
from tests.web.test_browser import live_server, page, playwright_api, shot

__all__ = ["live_server", "page", "playwright_api"]

QUESTION = "Which customer noticed the slip first?"
ANSWER = "Acme's buyer, on the Friday status call"


def _sign_in(page: Any, expect: Any, handle: str, name: str) -> None:
    page.goto("/login")
    page.get_by_label("Handle or e-mail").fill(handle)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=f"Hello, {name}")).to_be_visible()


def _continue(page: Any) -> None:
    """Save the step; when the coach holds it back once, "Continue anyway"."""
    heading = page.locator("form.wizard h2").inner_text()
    page.get_by_role("button", name="Save and continue").click()
    page.wait_for_load_state()
    if page.locator("form.wizard h2").inner_text() == heading and page.locator(".coach-warn").count():
        page.get_by_role("button", name="Continue anyway").click()


def test_an_admins_extra_question_is_asked_answered_and_exported(
    page: Any, playwright_api: Any, sqlite_db: Database
) -> None:
    expect = playwright_api.expect
    with sqlite_db.unit(actor="test") as session:
        failure_id = log_failure(
            session,
            title="Partner integration missed the launch date",
            kind="missed-deadline",
            team="Payments",
            people=["ben"],
            reporter="ana",
            viewer=SYSTEM,
        ).id

    # The org admin adds a question to the "missed deadline" template.
    _sign_in(page, expect, "ana", "Ana")
    page.get_by_role("link", name="Review templates").click()
    page.get_by_role("link", name="Edit the missed deadline template").click()
    new_row = page.locator("fieldset.question-row").last
    expect(new_row.locator("legend")).to_have_text("Add a question")
    new_row.get_by_label("Question", exact=True).fill(QUESTION)
    new_row.get_by_label("Required to complete the review").check()
    shot(page, "review-template-edit")
    page.get_by_role("button", name="Save the template").click()
    expect(page.get_by_role("status")).to_contain_text("Saved the review template")
    page.goto("/admin/review-templates")
    expect(page.locator("#kind-missed-deadline")).to_contain_text(QUESTION)
    page.get_by_role("button", name="Sign out").click()

    # A member reviews a failure of that kind: the question comes after the three diagnostic ones.
    _sign_in(page, expect, "ben", "Ben")
    page.goto(f"/failures/{failure_id}/review")
    page.get_by_label("Which assumption guided the decision?").fill(
        "The partner's sandbox would match production by the code freeze"
    )
    _continue(page)
    page.get_by_label("What evidence did we have?").fill("A sandbox demo two months before the freeze")
    _continue(page)
    page.get_by_label("What changed?").fill("The partner moved to a new API version in the last sprint")
    _continue(page)
    expect(page.get_by_role("heading", name="A few more questions for this kind of failure")).to_be_visible()
    page.get_by_label(QUESTION).fill(ANSWER)
    page.locator("#f-x_timeline_time_1").fill("Fri 10:00")
    page.locator("#f-x_timeline_text_1").fill("Partner announced the new API version")
    shot(page, "review-more-questions")
    _continue(page)
    page.get_by_label("Root cause").fill(
        "Integration dates depended on a sandbox nobody checked against production"
    )
    _continue(page)
    page.locator("#gap-process").check()
    page.get_by_label("Why this gap type, in one line").fill("No step compares sandbox and production APIs")
    _continue(page)
    page.get_by_label("The one primary corrective action").fill(
        "Add a sandbox-versus-production API check to the integration checklist"
    )
    page.get_by_label("Owner (one person)").select_option("ben")
    page.locator("#f-due_date").fill((dt.date.today() + dt.timedelta(days=7)).isoformat())
    page.get_by_role("button", name=re.compile("Complete")).click()
    if page.get_by_role("button", name="Complete anyway").count():
        page.get_by_role("button", name="Complete anyway").click()
    expect(page.get_by_role("status")).to_contain_text("Review completed")

    # The post-mortem export has the question and the answer, in Markdown and in HTML.
    markdown = page.request.get(f"/failures/{failure_id}/postmortem.md").text()
    assert f"### {QUESTION}" in markdown and "Acme's buyer, on the Friday status call" in markdown
    assert "| Fri 10:00 | Partner announced the new API version |" in markdown
    page.goto(f"/failures/{failure_id}/postmortem.html")
    section = page.locator("section", has=page.get_by_role("heading", name="More questions"))
    expect(section).to_contain_text(QUESTION)
    expect(section).to_contain_text(ANSWER)
    assert page.problems == []
