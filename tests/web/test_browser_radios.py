"""A refused radio group in headless Chromium: the review wizard's gap type is marked invalid
beside its error and gets the focus like any other field; the error summary's link to the group
focuses it too. (Same server, browser and skip rules as tests/web/test_browser.py.)"""

from __future__ import annotations

import re
from typing import Any

from tests.web import test_browser
from tests.web.test_browser_forms import _log_failure, _sign_in

# The fixtures of the main browser test, shared by name.
playwright_api = test_browser.playwright_api
live_server = test_browser.live_server
page = test_browser.page


def test_a_missing_gap_type_is_marked_and_focused(page: Any, playwright_api: Any) -> None:
    expect = playwright_api.expect
    _sign_in(page, expect)
    failure_url = _log_failure(page, expect, "Checkout slipped")
    page.goto(f"{failure_url}/review/gap")
    page.get_by_label("Why this gap type, in one line").fill("No step asks for a written vendor date")
    # The radios are `required`, so Chromium itself would stop the form: let the server judge, as
    # it must for any client that does not check (an old browser, a script).
    page.locator("form.wizard").evaluate("form => { form.noValidate = true; }")
    page.get_by_role("button", name="Save and continue").click()

    expect(page).to_have_url(re.compile(r"/review/gap$"))
    expect(page.locator("#f-gap_type-error")).to_contain_text("is required")
    radios = page.locator("input[name='gap_type']")
    expect(radios).to_have_count(4)
    for i in range(4):
        expect(radios.nth(i)).to_have_attribute("aria-invalid", "true")
        expect(radios.nth(i)).to_have_attribute("aria-describedby", "f-gap_type-error")
    expect(page.locator(":focus")).to_have_attribute("id", "gap-skill")  # the first, none chosen
    expect(page.locator("#f-gap_type")).to_be_in_viewport()
    # The justification was kept, and the summary's link to the group focuses it again.
    expect(page.get_by_label("Why this gap type, in one line")).to_have_value(
        "No step asks for a written vendor date"
    )
    page.get_by_label("Why this gap type, in one line").focus()
    page.locator(".error-summary").get_by_role("link", name="Gap type").click()
    expect(page.locator(":focus")).to_have_attribute("id", "gap-skill")

    # Choosing one goes on.
    page.locator("#gap-process").check()
    page.get_by_role("button", name="Save and continue").click()
    expect(page).to_have_url(re.compile(r"/review/action$"))
    problems = [p for p in page.problems if "status of 422" not in p]
    assert problems == [], f"console errors: {problems}"


def test_the_chosen_radio_of_a_refused_group_gets_the_focus(page: Any, playwright_api: Any) -> None:
    """Another field refused, the group valid but listed first: the focus lands on the chosen
    radio (where Tab would stop), not on the group's first."""
    expect = playwright_api.expect
    _sign_in(page, expect)
    failure_url = _log_failure(page, expect, "Refunds stuck")
    page.goto(f"{failure_url}/review/gap")
    # A value the server refuses, on the chosen radio (as a stale or tampered form would send).
    page.locator("#gap-context").evaluate("radio => { radio.value = 'luck'; radio.checked = true; }")
    page.get_by_label("Why this gap type, in one line").fill("Nobody knew")
    page.get_by_role("button", name="Save and continue").click()
    expect(page.locator("#f-gap_type-error")).to_be_visible()
    page.locator("#gap-resourcing").evaluate("radio => { radio.checked = true; }")
    page.evaluate("() => document.activeElement.blur()")
    page.evaluate(
        "() => document.querySelector(\"main [aria-invalid='true']\") && "
        "document.dispatchEvent(new Event('DOMContentLoaded'))"
    )
    expect(page.locator(":focus")).to_have_attribute("id", "gap-resourcing")
