"""In a real browser: the server's own worker (``serve``) puts a reminder in the in-app list, and
the list says it relative to when it is *shown*, not when it was enqueued.

The worker's clock is injected (two days ago): the app starts, its background thread runs one
pass at that moment and the test waits for that pass to finish (no sleeping) — the reminder is
enqueued then as "due in 3 days". The page, read today, says "due tomorrow".
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from argon2 import PasswordHasher
from sqlalchemy import select

from lessonloop.actions.service import add_action
from lessonloop.app import create_app
from lessonloop.notifications.config import WorkerConfig
from lessonloop.notifications.models import Notification
from lessonloop.store.engine import Database
from tests.factories import SYSTEM, failure
from tests.web.conftest import PASSWORD, seed_people
from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS, _free_port, playwright_api

__all__ = ["playwright_api"]  # the module-scoped fixture, shared with test_browser.py


@pytest.fixture
def served_with_worker(sqlite_db: Database, production_hasher: PasswordHasher) -> Iterator[tuple[str, int]]:
    """uvicorn serving the app with its background worker on a fixed clock, after one pass."""
    # "Today" as the test runs, not as the module was imported: a suite that crosses midnight
    # UTC between collection and this test read "due today" where it expected "due tomorrow".
    today = dt.datetime.now(dt.UTC).date()
    worker_now = dt.datetime.combine(today - dt.timedelta(days=2), dt.time(8), tzinfo=dt.UTC)
    seed_people(sqlite_db)
    with sqlite_db.unit() as s:
        f = failure(s, team="Payments", reporter="ben")
        action = add_action(
            s,
            failure_id=f.id,
            title="Date every vendor dependency",
            owner="ben",
            due_date=today + dt.timedelta(days=1),
            viewer=SYSTEM,
        )
        action_id = action.id
    app = create_app(
        database=sqlite_db,
        run_worker=True,
        # One pass at start-up, then none for an hour: the test sees exactly that pass.
        worker_config=WorkerConfig(reminder_days=(3,), interval_seconds=3600),
        worker_clock=lambda: worker_now,
    )
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="live-server-worker", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the server did not start")
        time.sleep(0.05)
    try:
        assert app.state.worker.wait_for_passes(1, timeout=60), "the background worker ran no pass"
        yield f"http://127.0.0.1:{port}", action_id
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def test_a_reminder_from_the_servers_worker_shows_in_app_relative_to_now(
    playwright_api: Any, served_with_worker: tuple[str, int], sqlite_db: Database
) -> None:
    base, action_id = served_with_worker
    with sqlite_db.unit() as s:  # enqueued by that pass, worded as of then
        stored = s.scalars(select(Notification.subject).where(Notification.kind == "reminder")).one()
    assert stored == f"Action #{action_id} is due in 3 days: Date every vendor dependency"
    expect = playwright_api.expect
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_context(base_url=base).new_page()
            page.set_default_timeout(15_000)
            page.goto("/login")
            page.get_by_label("Handle or e-mail").fill("ben")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page.locator(".badge-unread")).to_be_visible()
            page.get_by_role("link", name=re.compile("^Notifications")).click()
            item = page.locator("#notifications li").filter(has_text=f"Action #{action_id} is due")
            expect(item.get_by_role("link")).to_have_text(
                f"Action #{action_id} is due tomorrow: Date every vendor dependency"
            )
            expect(item).to_contain_text("(tomorrow), review date")
        finally:
            browser.close()
