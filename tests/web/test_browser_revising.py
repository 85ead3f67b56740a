"""Correcting in headless Chromium: edit a lesson and see the new title and the change in its
history; correct an experiment's latest observation and see the verdict follow, then edit the
experiment, and read both changes in the failure page's history.

The server, the browser and the page come from :mod:`tests.web.test_browser` (same launch, same
skip rules: no ``/usr/bin/chromium`` or no ``playwright`` skips locally and fails under CI).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from lessonloop.actions.service import add_action
from lessonloop.experiments.service import add_experiment, record_observation
from lessonloop.failures.service import log_failure
from lessonloop.store.engine import Database
from tests.factories import SYSTEM
from tests.web import test_browser
from tests.web.conftest import PASSWORD

# The fixtures of the main browser test, shared by name.
playwright_api = test_browser.playwright_api
live_server = test_browser.live_server
page = test_browser.page


def _sign_in(tab: Any, expect: Any, handle: str = "ana") -> None:
    tab.goto("/login")
    tab.get_by_label("Handle or e-mail").fill(handle)
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    expect(tab.get_by_role("heading", name=re.compile("^Hello"))).to_be_visible()


def _experiment(db: Database) -> tuple[int, int, int]:
    """Success if the latest value is >= 3; observations 1 then 5 (passed). Its id, the latest's,
    its failure's."""
    today = dt.date.today()
    with db.unit(actor="test") as session:
        f = log_failure(session, title="Refunds stuck", team="Payments", reporter="ana", viewer=SYSTEM)
        action = add_action(
            session,
            failure_id=f.id,
            title="Add a dated check",
            owner="ben",
            due_date=(today + dt.timedelta(days=7)).isoformat(),
            viewer=SYSTEM,
        )
        e = add_experiment(
            session,
            action_id=action.id,
            hypothesis="A dated check helps",
            metric="dated deps",
            comparator=">=",
            threshold=3,
            start_date=today.isoformat(),
            end_date=(today + dt.timedelta(days=30)).isoformat(),
            viewer=SYSTEM,
        )
        now = dt.datetime.now(dt.UTC)
        record_observation(session, e.id, value=1, observed_at=now - dt.timedelta(days=2), viewer=SYSTEM)
        latest = record_observation(
            session, e.id, value=5, observed_at=now - dt.timedelta(days=1), viewer=SYSTEM
        )
        return e.id, latest.id, f.id


def test_edit_a_lesson_and_correct_an_observation(
    page: Any, playwright_api: Any, sqlite_db: Database
) -> None:
    expect = playwright_api.expect
    _sign_in(page, expect)

    # A lesson: write it, then correct its title from its page.
    page.goto("/lessons/new")
    page.get_by_label("Title").fill("Date every dependency")
    page.get_by_label("What we learned").fill("Verbal dates slip silently.")
    page.get_by_role("button", name="Save the lesson").click()
    expect(page).to_have_url(re.compile(r"/lessons/\d+$"))
    page.get_by_role("link", name="Edit").click()
    expect(page).to_have_url(re.compile(r"/lessons/\d+/edit$"))
    page.get_by_label("Title").fill("Date every external dependency")
    page.get_by_role("button", name="Save changes").click()
    expect(page).to_have_url(re.compile(r"/lessons/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Date every external dependency")
    expect(page.get_by_text("Saved: 1 field changed")).to_be_visible()
    # The lesson's own history says who changed the title, readably.
    history = page.locator("#lesson-history")
    history.locator("summary").click()
    line = history.locator(".history-line").first
    expect(line).to_be_visible()
    expect(line).to_contain_text("Ana Lead (ana) changed Lesson")
    expect(line).to_contain_text("Title: Date every dependency → Date every external dependency")
    test_browser.shot(page, "revising-01-lesson-edited")

    # An observation: the latest (5) passes; corrected to 2 the verdict fails.
    eid, latest, failure_id = _experiment(sqlite_db)
    page.goto(f"/experiments/{eid}")
    expect(page.locator("#verdict")).to_have_text("passed")
    page.get_by_text(re.compile(r"^Correct the observation of .*\(5\)$")).click()
    page.locator(f"#obs{latest}-value").fill("2")
    page.get_by_role("button", name="Save the correction").click()
    expect(page).to_have_url(re.compile(rf"/experiments/{eid}$"))
    expect(page.locator("#verdict")).to_have_text("failed")
    expect(page.get_by_text("Verdict: failed.")).to_be_visible()
    test_browser.shot(page, "revising-02-observation-corrected")

    # The experiment itself: its metric corrected.
    page.get_by_text("Edit the experiment").click()
    page.get_by_label("Metric").fill("dated dependencies")
    page.get_by_role("button", name="Save the experiment").click()
    expect(page).to_have_url(re.compile(rf"/experiments/{eid}$"))
    expect(page.get_by_text("Saved: 1 field changed")).to_be_visible()

    # Both corrections are in the failure's history, with who and when.
    page.goto(f"/failures/{failure_id}?history=1")
    history = page.locator("#history")
    newest = history.locator(".history-line").first
    expect(newest).to_contain_text(f"Ana Lead (ana) changed Experiment {eid} (A dated check helps)")
    expect(newest).to_contain_text("Metric: dated deps → dated dependencies")
    expect(newest.locator("time")).to_have_text("just now")
    observation = history.locator(".history-line", has_text=f"changed Observation {latest}")
    expect(observation).to_contain_text("Ana Lead (ana)")
    expect(observation).to_contain_text("Value: 5.0 → 2.0")
    test_browser.shot(page, "revising-03-experiment-history")
    assert page.problems == []
