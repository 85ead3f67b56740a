"""End to end in headless Chromium: the sign-in page's button, the real provider's login and
consent pages, back to lessonloop's dashboard as the person with that verified e-mail.

The browser is tests/web's (Debian's chromium driven by Playwright; skipped locally without it,
failing under ``CI=true``); only the server differs: single sign-on pointed at the local provider.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from lessonloop.integrations.sso.models import SsoIdentity
from lessonloop.store.engine import Database
from tests.integrations.sso.conftest import ACCOUNTS, CLIENT_ID, CLIENT_SECRET, LocalProvider, serve
from tests.web.conftest import seed_people
from tests.web.test_browser import page, playwright_api, shot

__all__ = ["page", "playwright_api"]

#: Nothing leaves 127.0.0.1 (the provider's development pages @import a web font).
OUTSIDE = re.compile(r"^https?://(?!127\.0\.0\.1[:/])")


@pytest.fixture
def live_server(sqlite_db: Database, local_provider: tuple[LocalProvider, socket.socket]) -> Iterator[str]:
    """tests/web's page fixture asks for this: the app with single sign-on, on the provider's port."""
    provider, sock = local_provider
    provider.accounts_file.write_text(json.dumps(ACCOUNTS))
    seed_people(sqlite_db)
    with serve(
        sqlite_db,
        sock,
        oidc_issuer=provider.issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
        oidc_provider_name="Local provider",
    ) as base:
        yield base


def test_sign_in_with_the_provider_in_a_real_browser(
    page: Any,
    playwright_api: Any,
    live_server: str,
    local_provider: tuple[LocalProvider, socket.socket],
    sqlite_db: Database,
) -> None:
    expect = playwright_api.expect
    issuer = local_provider[0].issuer
    page.context.route(OUTSIDE, lambda route: route.abort())

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login$"))
    shot(page, "sso-01-login")
    page.get_by_role("link", name="Sign in with Local provider").click()

    # The provider's own pages: its login form, then its consent.
    expect(page).to_have_url(re.compile("^" + re.escape(issuer) + "/interaction/"))
    page.get_by_placeholder("Enter any login").fill("ana")
    page.get_by_placeholder("and password").fill("anything the provider accepts")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()

    # Back at lessonloop, signed in as the person whose verified e-mail the provider vouched for.
    expect(page.get_by_role("heading", name="Hello, Ana")).to_be_visible()
    expect(page).to_have_url(f"{live_server}/")
    shot(page, "sso-02-dashboard")
    cookies = {c["name"]: c for c in page.context.cookies(live_server)}
    assert cookies["lessonloop_session"]["httpOnly"] and "lessonloop_sso" not in cookies
    assert [p for p in page.problems if live_server in p] == []  # no error in lessonloop's pages
    with sqlite_db.unit() as session:
        assert [(i.subject, i.person.handle) for i in session.scalars(select(SsoIdentity))] == [
            ("ana", "ana")
        ]

    # Signing out and in again: the provider remembers the person, lessonloop the link.
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.get_by_role("link", name="Sign in with Local provider").click()
    continue_or_home = page.get_by_role("button", name="Continue").or_(
        page.get_by_role("heading", name="Hello, Ana")
    )
    expect(continue_or_home).to_be_visible()
    if page.get_by_role("button", name="Continue").count():
        page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Hello, Ana")).to_be_visible()
