"""Password sign-in turned off per workspace: the form and every password sign-in refuse with a
clear message while single sign-on still works; the guards against locking everyone out; the
page, the API and the CLI (the escape hatch)."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from lessonloop.access.viewer import viewer_for
from lessonloop.accounts.service import authenticate, issue_token
from lessonloop.app import create_app
from lessonloop.errors import Conflict, PermissionDenied
from lessonloop.integrations.sso.config import SsoConfig
from lessonloop.integrations.sso.models import SsoIdentity
from lessonloop.integrations.sso.policy import (
    PASSWORDS_OFF,
    PasswordSignInOff,
    password_sign_in_allowed,
    set_password_sign_in,
)
from lessonloop.people.service import get_person
from lessonloop.settings import Settings
from lessonloop.store.base import utcnow
from lessonloop.store.engine import Database
from lessonloop.web.security import csrf_token_for
from tests.cli import Cli
from tests.factories import SYSTEM
from tests.integrations.sso.conftest import StartWorld, browser, sign_in_at_provider
from tests.web.conftest import PASSWORD, csrf_of, seed_people

ISSUER = "https://id.example.com"
CONFIG = SsoConfig(ISSUER, "lessonloop", "secret", "", "Example ID", False, "", "member")


def _seed(session: Session) -> None:
    from lessonloop.accounts.service import create_account
    from lessonloop.people.service import add_person

    for handle, admin in (("ana", True), ("ben", False)):
        person = add_person(
            session, name=handle.title(), handle=handle, email=f"{handle}@example.com", viewer=SYSTEM
        )
        create_account(session, person, password=PASSWORD, admin=admin, viewer=SYSTEM)


def test_passwords_are_on_by_default_and_off_refuses_every_password(session: Session) -> None:
    _seed(session)
    assert password_sign_in_allowed(session, viewer=SYSTEM)
    assert authenticate(session, "ben", PASSWORD, now=utcnow()).handle == "ben"
    set_password_sign_in(session, False, sso=CONFIG, viewer=SYSTEM)
    assert not password_sign_in_allowed(session, viewer=SYSTEM)
    with pytest.raises(PasswordSignInOff) as refused:
        authenticate(session, "ben", PASSWORD, now=utcnow())  # even the right password
    assert refused.value.status_code == 403 and "single sign-on" in refused.value.message
    set_password_sign_in(session, True, sso=None, viewer=SYSTEM)  # on again needs nothing
    assert authenticate(session, "ben", PASSWORD, now=utcnow()).handle == "ben"


def test_passwords_cannot_go_off_without_single_sign_on(session: Session) -> None:
    _seed(session)
    with pytest.raises(Conflict, match="nobody could sign in"):
        set_password_sign_in(session, False, sso=None, viewer=SYSTEM)
    assert password_sign_in_allowed(session, viewer=SYSTEM)


def test_an_admin_turns_passwords_off_only_after_signing_in_with_sso_once(session: Session) -> None:
    _seed(session)
    ana = viewer_for(session, get_person(session, "ana", viewer=SYSTEM))
    ben = viewer_for(session, get_person(session, "ben", viewer=SYSTEM))
    with pytest.raises(PermissionDenied):
        set_password_sign_in(session, False, sso=CONFIG, viewer=ben)  # not an org admin
    with pytest.raises(Conflict, match="sign in with single sign-on once yourself"):
        set_password_sign_in(session, False, sso=CONFIG, viewer=ana)
    session.add(SsoIdentity(person_id=ana.person_id, issuer="https://other.example.com", subject="a"))
    session.flush()
    with pytest.raises(Conflict):  # linked at another provider does not count
        set_password_sign_in(session, False, sso=CONFIG, viewer=ana)
    session.add(SsoIdentity(person_id=ana.person_id, issuer=ISSUER, subject="a"))
    session.flush()
    assert set_password_sign_in(session, False, sso=CONFIG, viewer=ana).password_sign_in is False


def _post_login(client: httpx.Client, base: str, handle: str) -> httpx.Response:
    """The password form posted; with passwords off the page has no form, so the token comes from
    the browser's pre-session cookie (a stale form from before, or a script)."""
    page = client.get(f"{base}/login")
    token = (
        csrf_of(page.text) if "csrf_token" in page.text else csrf_token_for(client.cookies["lessonloop_csrf"])
    )
    return client.post(
        f"{base}/login", data={"handle": handle, "password": PASSWORD, "csrf_token": token, "next": "/"}
    )


def test_off_from_the_page_the_form_refuses_and_single_sign_on_still_works(sso_world: StartWorld) -> None:
    world = sso_world()
    seed_people(world.db)
    with browser() as admin:
        # An admin who has never used single sign-on is told to, and nothing changes.
        assert _post_login(admin, world.base, "ana").status_code == 303
        settings_page = admin.get(f"{world.base}/admin/sign-in")
        assert "Turn password sign-in off" in settings_page.text
        refused = admin.post(
            f"{world.base}/admin/sign-in",
            data={"password_sign_in": "off", "csrf_token": csrf_of(settings_page.text)},
        )
        assert refused.status_code == 409 and "sign in with single sign-on once yourself" in refused.text
    with browser() as admin:
        sign_in_at_provider(admin, world.base, "ana")
        page = admin.get(f"{world.base}/admin/sign-in")
        done = admin.post(
            f"{world.base}/admin/sign-in", data={"password_sign_in": "off", "csrf_token": csrf_of(page.text)}
        )
        assert done.status_code == 303
        assert "Password sign-in: off" not in admin.get(f"{world.base}/admin/sign-in").text
        assert (
            "Off: people sign in with single sign-on only." in admin.get(f"{world.base}/admin/sign-in").text
        )
    with browser() as ben:
        login = ben.get(f"{world.base}/login")
        assert 'action="/login"' not in login.text  # no password form
        assert "Password sign-in is turned off for this workspace." in login.text
        assert "Sign in with Local provider" in login.text
        refused = _post_login(ben, world.base, "ben")  # a stale form, or a script
        assert refused.status_code == 403
        assert re.sub(r"\s+", " ", PASSWORDS_OFF.replace("`", "")) in refused.text.replace("`", "")
        assert ben.get(f"{world.base}/api/v1/me").status_code == 401
        assert "Hello, Ben" in sign_in_at_provider(ben, world.base, "ben").text


def test_the_api_reads_and_changes_the_setting_for_org_admins(sqlite_db: Database) -> None:
    seed_people(sqlite_db)
    settings = Settings(
        database_url=sqlite_db.settings.database_url, oidc_issuer=ISSUER, oidc_client_id="lessonloop"
    )
    with sqlite_db.unit() as session:
        _, ana = issue_token(session, "ana", "t")
        _, ben = issue_token(session, "ben", "t")
    with TestClient(create_app(settings, database=sqlite_db)) as client:
        as_ana, as_ben = {"Authorization": f"Bearer {ana}"}, {"Authorization": f"Bearer {ben}"}
        read = client.get("/api/v1/admin/sign-in", headers=as_ana).json()
        assert read == {
            "password_sign_in": True,
            "sso": True,
            "provider_name": "id.example.com",
            "issuer": ISSUER,
        }
        assert client.get("/api/v1/admin/sign-in", headers=as_ben).status_code == 403
        off = client.put("/api/v1/admin/sign-in", json={"password_sign_in": False}, headers=as_ana)
        assert off.status_code == 409 and "once yourself" in off.text
        with sqlite_db.unit() as session:
            session.add(
                SsoIdentity(
                    person_id=get_person(session, "ana", viewer=SYSTEM).id, issuer=ISSUER, subject="a"
                )
            )
        off = client.put("/api/v1/admin/sign-in", json={"password_sign_in": False}, headers=as_ana)
        assert off.status_code == 200 and off.json()["password_sign_in"] is False
        assert (
            client.put("/api/v1/admin/sign-in", json={"password_sign_in": True}, headers=as_ben).status_code
            == 403
        )


def test_the_cli_is_the_escape_hatch(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    seed_people(sqlite_db)
    cli = Cli(sqlite_db.settings.database_url)
    assert "single sign-on is not set up" in cli.fails("sso", "passwords", "off")
    monkeypatch.setenv("LESSONLOOP_OIDC_ISSUER", ISSUER)
    monkeypatch.setenv("LESSONLOOP_OIDC_CLIENT_ID", "lessonloop")
    assert "password sign-in is off" in cli("sso", "passwords", "off").stdout
    status = cli("sso", "status").stdout
    assert "single sign-on: on, id.example.com" in status and "password sign-in: off" in status
    monkeypatch.delenv("LESSONLOOP_OIDC_ISSUER")
    monkeypatch.delenv("LESSONLOOP_OIDC_CLIENT_ID")
    # The provider is gone and nobody can sign in: whoever holds the database turns passwords on.
    assert "password sign-in is on" in cli("sso", "passwords", "on").stdout
    with sqlite_db.unit() as session:
        assert authenticate(session, "ana", PASSWORD, now=utcnow()).handle == "ana"
