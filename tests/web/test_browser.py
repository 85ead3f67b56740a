"""End to end in headless Chromium: the real server, a fresh SQLite file, the whole loop by hand.

Debian's ``/usr/bin/chromium`` is driven by Playwright for Python (never ``playwright install``:
nothing is downloaded at test time). Without it — or without the ``playwright`` package — the
test is skipped locally with the reason, and fails under ``CI=true``. Screenshots of the main
pages go to ``test-artifacts/screenshots/`` (git-ignored).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from argon2 import PasswordHasher

from lessonloop.app import create_app
from lessonloop.store.engine import Database
from tests.web.conftest import PASSWORD, seed_people

CHROMIUM = Path(os.environ.get("LESSONLOOP_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"the browser test needs {reason} under CI=true")
    pytest.skip(f"browser test skipped: {reason}")


@pytest.fixture(scope="module")
def playwright_api() -> Any:
    try:
        from playwright import sync_api
    except ImportError:
        _unavailable("the playwright package (pip install -e '.[dev]')")
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} (apt-get install -y chromium, or `make chromium`)")
    return sync_api


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live_server(sqlite_db: Database, production_hasher: PasswordHasher) -> Iterator[str]:
    """uvicorn on a free 127.0.0.1 port in a thread, serving create_app on a fresh SQLite file."""
    seed_people(sqlite_db)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(database=sqlite_db), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture
def page(playwright_api: Any, live_server: str) -> Iterator[Any]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        # A page load waits for the server thread, which shares this test process: under a full
        # CI run (thousands of tests, a large heap) a collection pause once held a first
        # navigation past 15 s. Loading is not what these tests measure; what they check is not
        # timed.
        context.set_default_navigation_timeout(45_000)
        tab = context.new_page()
        problems: list[str] = []
        tab.on(
            "console",
            lambda msg: (
                problems.append(f"{msg.text} ({msg.location.get('url')})") if msg.type == "error" else None
            ),
        )
        tab.on("pageerror", lambda exc: problems.append(str(exc)))
        tab.problems = problems
        try:
            yield tab
        finally:
            context.close()
            browser.close()


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_the_whole_loop_in_a_real_browser(page: Any, playwright_api: Any) -> None:
    expect = playwright_api.expect
    due = (dt.date.today() + dt.timedelta(days=7)).isoformat()

    # Sign in: the dashboard is behind the login.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login$"))
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to content")  # keyboard first stop
    shot(page, "01-login")
    page.get_by_label("Handle or e-mail").fill("ana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Hello, Ana")).to_be_visible()
    expect(page.locator("svg.chart")).to_have_count(2)

    # Observe: log a failure in one short form.
    page.get_by_role("link", name="Log a failure").first.click()
    page.get_by_label("What went wrong, in one line").fill("Checkout v2 missed the Black Friday launch")
    page.get_by_label("What happened").fill("The payment vendor's SSO change landed three weeks late.")
    page.get_by_label("Team").select_option(label="Payments")
    page.get_by_label("People involved").fill("ben")
    page.get_by_label("Labels").fill("vendor, launch")
    shot(page, "02-log-failure")
    page.get_by_role("button", name="Log it").click()
    expect(page).to_have_url(re.compile(r"/failures/\d+$"))
    expect(page.get_by_role("status")).to_contain_text("logged")
    # "Have we seen this before?" follows the page (decision 64): htmx swaps the section in
    expect(page.locator("#similar")).to_contain_text("Nothing similar among the failures you may see")
    expect(page.locator("#similar")).not_to_have_attribute("aria-busy", "true")
    failure_url = page.url

    # Interpret: the wizard asks one question at a time; the coach flags blame language.
    page.get_by_role("link", name="Start the review").click()
    question = page.get_by_label("Which assumption guided the decision?")
    question.fill("Ben was careless and should have known the vendor would slip")
    # htmx asks the coach while typing (a POST with the form's CSRF token, allowed by the CSP)
    expect(page.locator("#hints-assumption_text")).to_contain_text("careless")
    page.get_by_role("button", name="Save and continue").click()
    expect(page.locator(".coach-warn").first).to_contain_text("careless")
    shot(page, "03-review-coach")
    question.fill("The vendor would deliver the SSO change by sprint 3, as promised on a call")
    page.get_by_role("button", name=re.compile("continue", re.IGNORECASE)).click()
    page.get_by_label("What evidence did we have?").fill("A verbal promise in a status call; no written date")
    page.get_by_role("button", name="Save and continue").click()
    page.get_by_label("What changed?").fill("The vendor re-planned after a reorg")
    page.get_by_role("button", name="Save and continue").click()
    # The review template of the failure's kind asks a few more questions, all optional here.
    expect(page.get_by_role("heading", name="A few more questions for this kind of failure")).to_be_visible()
    page.get_by_role("button", name="Save and continue").click()
    page.get_by_label("Root cause").fill(
        "A critical external dependency had no dated commitment and no fallback"
    )
    page.get_by_role("button", name="Save and continue").click()
    page.locator("#gap-process").check()
    page.get_by_label("Why this gap type, in one line").fill(
        "Kickoff has no step that asks for dated commitments"
    )
    page.get_by_role("button", name="Save and continue").click()
    page.get_by_label("The one primary corrective action").fill(
        "Add a dated-dependency check to the kickoff checklist"
    )
    page.get_by_label("Owner (one person)").select_option("ben")
    page.locator("#f-due_date").fill(due)
    expect(page.locator("#hints-title")).to_contain_text("Specificity")  # the coach scores the action
    shot(page, "04-review-action")
    page.get_by_role("button", name="Complete the review").click()
    expect(page.get_by_role("status")).to_contain_text("Review completed")
    expect(page.locator(".badges .status-acting")).to_be_visible()
    shot(page, "05-failure-page")

    # Act: add a second action and mark it done with evidence from the board (htmx, in place).
    page.get_by_text("Add an action", exact=True).click()
    page.get_by_label("What will be done").fill(
        "Alert when a critical dependency has no written date by kickoff"
    )
    page.locator("#act-owner").select_option("ana")
    page.locator("#act-due_date").fill(due)
    page.get_by_role("button", name="Add the action").click()
    expect(page.get_by_role("status")).to_contain_text("added")
    page.goto("/actions?scope=mine")
    card = page.locator(".action-card", has_text="Alert when a critical dependency")
    card.get_by_label("Evidence it is done").fill("Alert rule merged; fired in staging")
    shot(page, "06-action-board")
    card.get_by_role("button", name="Mark done").click()
    done = page.locator(".action-card", has_text="Alert when a critical dependency")
    expect(done).to_contain_text("Done. Evidence: Alert rule merged; fired in staging")
    expect(page.get_by_role("status")).to_have_count(1)  # swapped in place: no page load, no flash

    # Act: an experiment on the primary action; an observation computes the verdict.
    page.goto(failure_url)
    primary = page.locator(".action", has_text="Add a dated-dependency check")
    primary.get_by_text("Add an experiment to prove this action works").click()
    primary.get_by_label("Hypothesis").fill("With the check, 90% of dependencies have a written date")
    primary.get_by_label("Metric").fill("share of dependencies with a dated commitment")
    primary.get_by_label("Threshold").fill("0.9")
    primary.get_by_role("button", name="Add the experiment").click()
    expect(page.locator("#verdict")).to_have_text("inconclusive")
    # The form that records a new observation (each recorded one has its own correction form).
    record = page.locator("form[action$='/observations']")
    record.get_by_label("Value").fill("0.95")
    record.get_by_role("button", name="Record").click()
    expect(page.locator("#verdict")).to_have_text("passed")
    expect(page.get_by_role("status")).to_contain_text("Verdict: passed")
    shot(page, "07-experiment")

    # Re-evaluate: write a lesson, publish it, find it by search.
    page.goto(failure_url)
    page.get_by_role("link", name="Write a lesson").click()
    page.get_by_label("Title").fill("Date every external dependency")
    page.get_by_label("What we learned").fill("A verbal date from a vendor is a hope, not a plan.")
    page.get_by_role("button", name="Save the lesson").click()
    expect(page.get_by_role("status")).to_contain_text("draft")
    page.get_by_role("button", name="Publish to its audience").click()
    expect(page.get_by_role("status")).to_contain_text("published")
    page.get_by_role("link", name="Lessons", exact=True).click()
    page.get_by_label("Search lessons").fill("dependency")
    page.locator("#main").get_by_role("button", name="Search", exact=True).click()
    expect(page.locator(".lesson h2")).to_have_text(["Date every external dependency"])
    shot(page, "08-lessons-search")
    page.goto("/search?q=vendor")
    expect(page.locator(".result").first).to_be_visible()
    shot(page, "09-search")

    page.goto("/")
    expect(page.get_by_text("Date every external dependency")).to_be_visible()  # latest lessons
    shot(page, "10-dashboard")
    page.goto("/insights")
    expect(page.get_by_role("heading", name="Per team and month")).to_be_visible()
    shot(page, "10b-insights")

    # Phone width: everything still fits and stays usable.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the dashboard scrolls sideways at phone width ({width}px)"
    shot(page, "11-dashboard-phone")
    page.goto(failure_url)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "12-failure-phone")
    page.goto("/insights")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "insights scroll sideways"
    shot(page, "13-insights-phone")

    assert page.problems == [], f"console errors (CSP violations show here): {page.problems}"
