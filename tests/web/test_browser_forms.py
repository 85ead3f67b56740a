"""Forms and phones in headless Chromium: every error at once with the focus on the first, Enter
in the wizard goes forward, the 375 px layout (without JS), the 404 page inside the layout.

The server, the browser and the page come from :mod:`tests.web.test_browser` (same launch, same
skip rules: no ``/usr/bin/chromium`` or no ``playwright`` skips locally and fails under CI).
"""

from __future__ import annotations

import re
from typing import Any

from lessonloop import limits
from tests.web import test_browser
from tests.web.conftest import PASSWORD

# The fixtures of the main browser test, shared by name.
playwright_api = test_browser.playwright_api
live_server = test_browser.live_server
page = test_browser.page

TITLE = "What went wrong, in one line"


def _sign_in(tab: Any, expect: Any, handle: str = "ana") -> None:
    tab.goto("/login")
    tab.get_by_label("Handle or e-mail").fill(handle)
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    expect(tab.get_by_role("heading", name=re.compile("^Hello"))).to_be_visible()


def _log_failure(tab: Any, expect: Any, title: str) -> str:
    tab.goto("/failures/new")
    tab.get_by_label(TITLE).fill(title)
    tab.get_by_role("button", name="Log it").click()
    expect(tab).to_have_url(re.compile(r"/failures/\d+$"))
    return str(tab.url)


def test_a_refused_form_shows_every_error_and_focuses_the_first(page: Any, playwright_api: Any) -> None:
    expect = playwright_api.expect
    _sign_in(page, expect)
    page.goto("/failures/new")
    page.get_by_label(TITLE).fill("   ")  # whitespace only: empty
    page.get_by_label("What happened").fill("Kept as typed")
    page.get_by_label("Labels").fill("x" * (limits.SHORT_TEXT_MAX + 1))
    page.get_by_role("button", name="Log it").click()

    expect(page.locator("#f-title-error")).to_contain_text("is required")
    expect(page.locator("#f-labels-error")).to_contain_text("longer than")
    summary = page.locator(".error-summary")
    expect(summary.get_by_role("link", name=TITLE)).to_be_visible()
    expect(summary.get_by_role("link", name="Labels")).to_be_visible()
    expect(page.locator(":focus")).to_have_attribute("id", "f-title")
    expect(page.get_by_label(TITLE)).to_be_in_viewport()
    expect(page.get_by_label("What happened")).to_have_value("Kept as typed")
    test_browser.shot(page, "forms-01-all-errors")
    # the refusal itself is logged by the browser as a 422; nothing else may be (CSP, script errors)
    problems = [p for p in page.problems if "status of 422" not in p]
    assert problems == [], f"console errors: {problems}"


def test_enter_in_a_wizard_step_moves_forward(page: Any, playwright_api: Any) -> None:
    expect = playwright_api.expect
    _sign_in(page, expect)
    failure_url = _log_failure(page, expect, "Checkout slipped")
    page.goto(f"{failure_url}/review/gap")  # a step with a Back button and a one-line field
    expect(page.get_by_role("button", name="← Back")).to_be_visible()
    page.locator("#gap-process").check()
    field = page.get_by_label("Why this gap type, in one line")
    field.fill("No release checklist step asks for a written vendor date")
    field.press("Enter")
    expect(page).to_have_url(re.compile(r"/review/action$"))
    expect(page.get_by_text("The one primary corrective action")).to_be_visible()


def test_at_375_px_the_nav_folds_and_the_log_form_is_above_the_fold(
    page: Any, playwright_api: Any, live_server: str
) -> None:
    """Without JavaScript: the menu is a checkbox and CSS."""
    expect = playwright_api.expect
    context = page.context.browser.new_context(
        base_url=live_server, viewport={"width": 375, "height": 667}, java_script_enabled=False
    )
    try:
        phone = context.new_page()
        _sign_in(phone, expect)
        phone.goto("/failures/new")
        nav_link = phone.locator("#site-nav").get_by_role("link", name="Failures", exact=True)
        expect(nav_link).to_be_hidden()
        expect(phone.get_by_text("Menu", exact=True)).to_be_visible()
        expect(phone.get_by_label(TITLE)).to_be_in_viewport()
        box = phone.get_by_label(TITLE).bounding_box()
        assert box is not None and box["y"] + box["height"] <= 667, (
            f"the title field is below the fold: {box}"
        )
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375
        test_browser.shot(phone, "forms-02-phone-log")

        phone.get_by_text("Menu", exact=True).click()
        expect(nav_link).to_be_visible()
        test_browser.shot(phone, "forms-03-phone-menu")
        nav_link.click()
        expect(phone).to_have_url(re.compile(r"/failures$"))
    finally:
        context.close()


def test_the_404_page_is_drawn_inside_the_layout(page: Any, playwright_api: Any) -> None:
    expect = playwright_api.expect
    _sign_in(page, expect)
    response = page.goto("/failures/999999")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_role("link", name="Dashboard", exact=True)).to_be_visible()
    test_browser.shot(page, "forms-04-not-found")


def test_the_coach_hints_while_typing_on_any_field_that_opts_in(page: Any, playwright_api: Any) -> None:
    expect = playwright_api.expect
    _sign_in(page, expect)
    page.goto("/failures/new")
    page.get_by_label("What happened").fill("Ben was careless and should have known better")
    expect(page.locator("#f-observation-coach")).to_contain_text("careless")

    # A hand-written textarea opts in with one attribute (static/forms.js wires the request).
    page.evaluate(
        """() => {
            const area = document.createElement("textarea");
            area.name = "comment"; area.id = "c-comment"; area.setAttribute("data-coach", "");
            document.querySelector("form.card").appendChild(area);
            area.dispatchEvent(new CustomEvent("htmx:load", {bubbles: true}));
        }"""
    )
    page.locator("#c-comment").fill("Cara was sloppy with the rollout")
    expect(page.locator("#c-comment-coach")).to_contain_text("sloppy")

    # A hint never blocks saving.
    page.get_by_label(TITLE).fill("Export ran twice")
    page.get_by_role("button", name="Log it").click()
    expect(page).to_have_url(re.compile(r"/failures/\d+$"))
