"""The whole OpenID Connect sign-in against a real provider (``oidc-provider`` on 127.0.0.1): the
authorization request, the provider's own login and consent pages, the code exchange with PKCE
and the ID token's checks, then a lessonloop session as the mapped person."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from lessonloop.integrations.sso.models import SsoIdentity, SsoSignInAttempt
from lessonloop.people.models import Membership, Person
from tests.integrations.sso.conftest import StartWorld, browser, sign_in_at_provider
from tests.web.conftest import seed_people


def test_the_authorization_request_uses_pkce_s256_state_and_nonce(sso_world: StartWorld) -> None:
    world = sso_world()
    with browser() as client:
        answer = client.get(f"{world.base}/login/sso")
    assert answer.status_code == 303
    target = urlsplit(answer.headers["location"])
    assert f"{target.scheme}://{target.netloc}" == world.provider.issuer
    query = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert query["response_type"] == "code"
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43  # base64url of a SHA-256, never the verifier itself
    assert query["state"] and query["nonce"] and query["state"] != query["nonce"]
    assert query["redirect_uri"] == f"{world.base}/login/sso/callback"
    assert "openid" in query["scope"].split() and "email" in query["scope"].split()
    cookie = answer.headers["set-cookie"]
    assert "lessonloop_sso=" in cookie and "HttpOnly" in cookie and "Path=/login/sso/callback" in cookie
    with world.db.unit() as session:  # the verifier stays on the server
        attempt = session.scalars(select(SsoSignInAttempt)).one()
        assert attempt.state == query["state"] and attempt.nonce == query["nonce"]
        assert attempt.code_verifier not in answer.headers["location"]


def test_signing_in_lands_on_the_dashboard_as_the_person_with_that_verified_email(
    sso_world: StartWorld,
) -> None:
    world = sso_world()
    seed_people(world.db)
    with browser() as client:
        page = sign_in_at_provider(client, world.base, "ben", next_path="/actions")
        assert page.status_code == 200, (page.url, re.findall(r"<h1>.*?</p>", page.text, re.S))
        assert str(page.url) == f"{world.base}/actions"
        me = client.get(f"{world.base}/api/v1/me").json()
    assert me["person"]["handle"] == "ben" and me["authenticated_by"] == "session"
    with world.db.unit() as session:
        link = session.scalars(select(SsoIdentity)).one()
        assert (link.issuer, link.subject, link.person.handle) == (world.provider.issuer, "ben", "ben")
        assert session.scalars(select(SsoSignInAttempt)).all() == []  # used up


def test_the_link_keeps_mapping_after_the_email_changes_at_the_provider(sso_world: StartWorld) -> None:
    world = sso_world()
    seed_people(world.db)
    with browser() as client:
        sign_in_at_provider(client, world.base, "ana")
    world.provider.set_account("ana", email="ana.lead@example.org", email_verified=True, name="Ana Lead")
    with browser() as client:
        page = sign_in_at_provider(client, world.base, "ana")
        assert "Hello, Ana" in page.text
        assert client.get(f"{world.base}/api/v1/me").json()["person"]["handle"] == "ana"
    with world.db.unit() as session:
        link = session.scalars(select(SsoIdentity)).one()
        assert link.email == "ana.lead@example.org"  # what the provider says now, for admins to read


def test_an_unverified_email_is_refused(sso_world: StartWorld) -> None:
    world = sso_world()
    seed_people(world.db)
    with browser() as client:
        page = sign_in_at_provider(client, world.base, "mallory")  # claims cara's address, unverified
        assert page.status_code == 403
        assert "E-mail address not verified" in page.text and "cara@example.com" in page.text
        assert client.get(f"{world.base}/api/v1/me").status_code == 401
    with world.db.unit() as session:
        assert session.scalars(select(SsoIdentity)).all() == []


def test_an_unknown_email_gets_ask_an_admin_when_just_in_time_is_off(sso_world: StartWorld) -> None:
    world = sso_world()
    seed_people(world.db)
    with browser() as client:
        page = sign_in_at_provider(client, world.base, "newbie")
    assert page.status_code == 403
    assert "No account for this address" in page.text and "Ask an admin" in page.text
    assert 'href="/login"' in page.text  # a page in the layout, with the way back
    with world.db.unit() as session:
        assert session.scalar(select(Person).where(Person.email == "newbie@example.com")) is None


def test_just_in_time_creates_the_person_with_the_default_role(sso_world: StartWorld) -> None:
    world = sso_world(oidc_jit=True, oidc_jit_team="Growth", oidc_jit_role="lead")
    seed_people(world.db)
    with browser() as client:
        page = sign_in_at_provider(client, world.base, "newbie")
        assert page.status_code == 200 and "Hello, New" in page.text
        me = client.get(f"{world.base}/api/v1/me").json()
    assert me["person"]["handle"] == "newbie" and me["person"]["email"] == "newbie@example.com"
    assert me["is_admin"] is False  # never an org admin by just-in-time creation
    assert [(t["team"], t["role"]) for t in me["teams"]] == [("Growth", "lead")]
    with world.db.unit() as session:
        person = session.scalars(select(Person).where(Person.handle == "newbie")).one()
        assert (
            session.scalars(select(Membership).where(Membership.person_id == person.id)).one().role == "lead"
        )
