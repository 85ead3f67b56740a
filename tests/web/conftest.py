"""A browser-like client on the app, people with accounts, and signing in through the login form."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from lessonloop.accounts import crypto
from lessonloop.accounts.service import create_account
from lessonloop.app import create_app
from lessonloop.people.service import add_member, add_person, add_team
from lessonloop.store.engine import Database
from tests.factories import SYSTEM

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


# argon2id at production cost takes a noticeable fraction of a second per hash; the route tests
# sign in dozens of times, so they use a cheap argon2id. The browser test keeps the real one.
CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def production_hasher() -> PasswordHasher:
    """Ask for this fixture to keep the real argon2 parameters."""
    return crypto.HASHER


@pytest.fixture(autouse=True)
def _cheap_hasher(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    if "production_hasher" not in request.fixturenames:
        monkeypatch.setattr(crypto, "HASHER", CHEAP)
    yield


def day(offset: int) -> str:
    return (dt.date.today() + dt.timedelta(days=offset)).isoformat()


def seed_people(db: Database) -> None:
    """Team Payments (ana lead and org admin, ben member), team Growth (gil lead, cara member)."""
    with db.unit(actor="test") as session:
        payments = add_team(session, name="Payments", viewer=SYSTEM)
        growth = add_team(session, name="Growth", viewer=SYSTEM)
        for handle, name, team, role, admin in [
            ("ana", "Ana Lead", payments, "lead", True),
            ("ben", "Ben Member", payments, "member", False),
            ("gil", "Gil Lead", growth, "lead", False),
            ("cara", "Cara Member", growth, "member", False),
        ]:
            person = add_person(
                session, name=name, handle=handle, email=f"{handle}@example.com", viewer=SYSTEM
            )
            add_member(session, team=team, person=person, role=role, viewer=SYSTEM)
            create_account(session, person, password=PASSWORD, admin=admin, viewer=SYSTEM)


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


class Browser:
    """A TestClient that keeps cookies and fills in the CSRF token of the page a form is on."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, **kw)

    def post(self, path: str, data: dict[str, Any], *, form_page: str | None = None, **kw: Any) -> Any:
        page = self.client.get(form_page or "/")
        return self.client.post(path, data={"csrf_token": csrf_of(page.text), **data}, **kw)

    def login(self, handle: str, password: str = PASSWORD) -> Any:
        page = self.client.get("/login")
        return self.client.post(
            "/login",
            data={"handle": handle, "password": password, "csrf_token": csrf_of(page.text), "next": "/"},
            follow_redirects=False,
        )


@pytest.fixture
def app_db(sqlite_db: Database) -> Database:
    return sqlite_db


@pytest.fixture
def client(app_db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(database=app_db)) as test_client:
        yield test_client


@pytest.fixture
def people(app_db: Database) -> None:
    seed_people(app_db)


@pytest.fixture
def browser(client: TestClient, people: None) -> Browser:
    return Browser(client)


@pytest.fixture
def as_ana(browser: Browser) -> Browser:
    assert browser.login("ana").status_code == 303
    return browser


def another_browser(app_db: Database, handle: str) -> Browser:
    other = Browser(TestClient(create_app(database=app_db)))
    assert other.login(handle).status_code == 303
    return other
