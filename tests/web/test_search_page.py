"""The /search page: its statements per request do not grow with the hits, and every review or
action hit links to its own failure (the page loads them in one query per kind, not one by one)."""

from __future__ import annotations

import dataclasses
import re

from fastapi.testclient import TestClient

from lessonloop.app import create_app
from lessonloop.server_timing import parse_server_timing
from lessonloop.store.engine import Database
from tests.factories import failure, reviewed
from tests.web.conftest import Browser


def _add_reviewed_failures(db: Database, n: int, visibility: str = "org") -> list[int]:
    """``n`` failures, each with a review (root cause "External dependency …") and a primary
    action ("Add a dated dependency check …"): each adds a review hit and an action hit."""
    ids = []
    with db.unit(actor="test") as session:
        for k in range(n):
            f = failure(session, title=f"Launch slipped {k}", team="Payments", visibility=visibility)
            reviewed(session, f)
            ids.append(f.id)
    return ids


def _search(browser: Browser, q: str) -> tuple[float, str]:
    page = browser.get(f"/search?q={q}")
    assert page.status_code == 200
    return parse_server_timing(page.headers["server-timing"])["queries"], page.text


def test_statements_per_request_do_not_grow_with_the_hits(app_db: Database, people: None) -> None:
    settings = dataclasses.replace(app_db.settings, server_timing=True)
    with TestClient(create_app(settings=settings, database=app_db)) as client:
        browser = Browser(client)
        assert browser.login("ben").status_code == 303
        first = _add_reviewed_failures(app_db, 2)
        few, html = _search(browser, "dependency")
        assert html.count('class="result"') == 4  # two reviews, two actions
        more = first + _add_reviewed_failures(app_db, 10)
        many, html = _search(browser, "dependency")
        assert html.count('class="result"') == 24
        assert many == few
        # each review and action links to its own failure
        for failure_id in more:
            assert f'href="/failures/{failure_id}#review"' in html
            assert re.search(rf'href="/failures/{failure_id}#action-\d+"', html)


def test_hits_of_failures_one_may_not_see_are_not_linked_or_listed(app_db: Database, people: None) -> None:
    with TestClient(create_app(database=app_db)) as client:
        browser = Browser(client)
        hidden = _add_reviewed_failures(app_db, 2, visibility="private")  # Payments' private: ana leads it
        assert browser.login("ben").status_code == 303
        page = browser.get("/search?q=dependency")
        assert page.status_code == 200 and 'class="result"' not in page.text
        html = page.text
        assert not any(f"/failures/{i}" in html for i in hidden)
