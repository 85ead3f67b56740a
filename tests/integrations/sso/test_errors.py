"""Every way an OpenID sign-in can go wrong is a page in the layout that says what to do: the
person cancels at the provider, an answer that is not this browser's (state), a replayed or
stale callback, a provider that is down, a half-done configuration. Never a 500, never a session."""

from __future__ import annotations

import re
from contextlib import closing
from html import unescape

import httpx
from fastapi.testclient import TestClient

from lessonloop.app import create_app
from lessonloop.settings import Settings
from lessonloop.store.engine import Database
from tests.integrations.sso.conftest import (
    CALLBACK,
    StartWorld,
    browser,
    reserve_port,
    serve,
    sign_in_at_provider,
)
from tests.web.conftest import seed_people
from tests.web.test_browser import _free_port

_ABORT = re.compile(r'href="([^"]*/abort)"')


def _is_problem_page(page: httpx.Response, status: int, title: str) -> None:
    assert page.status_code == status, (page.status_code, page.text[:500])
    assert f"<h1>{title}</h1>" in page.text
    assert 'class="site-header"' in page.text or "<nav" in page.text  # inside the layout
    assert 'href="/login"' in page.text


def _signed_out(client: httpx.Client, base: str) -> None:
    assert client.get(f"{base}/api/v1/me").status_code == 401


def test_cancelling_at_the_provider_says_so(sso_world: StartWorld) -> None:
    world = sso_world()
    with browser() as client:
        login = client.get(f"{world.base}/login/sso", follow_redirects=True)
        abort = _ABORT.search(login.text)
        assert abort, login.text[:1000]
        page = client.get(str(login.url.join(unescape(abort.group(1)))), follow_redirects=True)
        _is_problem_page(page, 401, "Sign-in cancelled")
        assert "You cancelled signing in at Local provider" in page.text
        _signed_out(client, world.base)


def test_an_answer_with_another_state_is_refused_and_uses_the_attempt_up(sso_world: StartWorld) -> None:
    world = sso_world()
    seed_people(world.db)
    with browser() as client:
        client.get(f"{world.base}/login/sso")  # the attempt cookie, and off to the provider (not followed)
        page = client.get(f"{world.base}{CALLBACK}", params={"code": "x", "state": "forged"})
        _is_problem_page(page, 400, "Sign-in refused")
        assert "does not belong to this sign-in" in page.text
        again = client.get(f"{world.base}{CALLBACK}", params={"code": "x", "state": "forged"})
        _is_problem_page(again, 400, "Sign-in expired")  # one use, even when refused
        _signed_out(client, world.base)


def test_a_callback_this_browser_did_not_start_or_a_replay_is_refused(sso_world: StartWorld) -> None:
    world = sso_world()
    seed_people(world.db)
    with browser() as stranger:
        page = stranger.get(f"{world.base}{CALLBACK}", params={"code": "x", "state": "y"})
        _is_problem_page(page, 400, "Sign-in expired")
    with browser() as client:
        done = sign_in_at_provider(client, world.base, "ben")
        assert done.status_code == 200
        callback = next(r for r in done.history if r.url.path == CALLBACK).url
    with browser() as thief:  # the same answer again, from a browser without the attempt
        _is_problem_page(thief.get(str(callback)), 400, "Sign-in expired")
        _signed_out(thief, world.base)


def test_a_provider_that_is_down_is_a_page(sqlite_db: Database) -> None:
    sock, nobody = reserve_port(), _free_port()  # nothing listens on `nobody`
    with (
        closing(sock),
        serve(
            sqlite_db,
            sock,
            oidc_issuer=f"http://127.0.0.1:{nobody}",
            oidc_client_id="c",
            oidc_provider_name="Okta",
        ) as base,
        browser() as client,
    ):
        seed_people(sqlite_db)
        page = client.get(f"{base}/login/sso")
        _is_problem_page(page, 502, "Okta is not answering")
        assert "Try again in a few minutes" in page.text


def test_the_button_is_there_only_when_single_sign_on_is_set_up(sqlite_db: Database) -> None:
    seed_people(sqlite_db)
    with TestClient(create_app(database=sqlite_db)) as client:
        assert "Sign in with" not in client.get("/login").text
        page = client.get("/login/sso")
        assert page.status_code == 503 and "Single sign-on is not set up" in page.text
    settings = Settings(
        database_url=sqlite_db.settings.database_url,
        oidc_issuer="https://id.example.com",
        oidc_client_id="lessonloop",
        oidc_provider_name="Example ID",
    )
    with TestClient(create_app(settings, database=sqlite_db)) as client:
        page = client.get("/login?next=/actions")
        assert (
            '<a class="btn btn-primary" href="/login/sso?next=/actions">Sign in with Example ID</a>'
            in page.text
        )
        assert 'action="/login"' in page.text  # passwords still on


def test_a_half_done_configuration_is_a_page_not_a_crash(sqlite_db: Database) -> None:
    seed_people(sqlite_db)
    settings = Settings(database_url=sqlite_db.settings.database_url, oidc_issuer="https://id.example.com")
    with TestClient(create_app(settings, database=sqlite_db)) as client:
        assert "Sign in with" not in client.get("/login").text  # logged, and no button
        page = client.get("/login/sso")
        assert page.status_code == 503
        assert "LESSONLOOP_OIDC_CLIENT_ID" in page.text
