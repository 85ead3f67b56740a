"""Authentication: bearer tokens and the web session cookie, 401s, token endpoints, /me, headers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from lessonloop.accounts.models import ApiToken
from lessonloop.accounts.service import start_session
from lessonloop.api.deps import SESSION_COOKIE
from lessonloop.people.service import add_member, add_person, add_team
from lessonloop.store.engine import Database
from tests.api.conftest import API, as_user, ok
from tests.factories import SYSTEM


def _fill(path: str) -> str:
    for name in ("failure_id", "review_id", "action_id", "experiment_id", "lesson_id", "escalation_id"):
        path = path.replace("{" + name + "}", "1")
    for name in ("token_id", "note_id", "plan_id"):
        path = path.replace("{" + name + "}", "1")
    return path.replace("{person}", "ana").replace("{team}", "Payments")


def _assert_401(response: Any, *, invalid: bool = False) -> None:
    assert response.status_code == 401, (response.request.method, response.request.url, response.text)
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer")
    assert ('error="invalid_token"' in challenge) is invalid
    body = response.json()
    assert body["field"] == "authorization" and body["detail"]


def test_every_api_route_needs_credentials(client: TestClient, anon: TestClient) -> None:
    """Each operation of the OpenAPI document, called without credentials: 401, nothing else."""
    operations = ok(client.get(f"{API}/openapi.json"))["paths"]
    called = 0
    for path, methods in operations.items():
        for method in methods:
            response = anon.request(
                method.upper(), _fill(path), json={} if method in {"post", "patch"} else None
            )
            _assert_401(response)
            called += 1
    assert called >= 50
    # the schema and the docs page are public: they describe the API, they hold no data
    assert anon.get(f"{API}/openapi.json").status_code == 200
    assert anon.get(f"{API}/docs").status_code == 200


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer ll_not-a-real-token",
        "Bearer not-even-the-prefix",
        "Basic YWRtaW46cGFzc3dvcmQ=",
        "Bearer",
        "ll_no-scheme",
        "",
    ],
)
def test_bad_credentials_are_401(anon: TestClient, authorization: str) -> None:
    response = anon.get(f"{API}/failures", headers={"Authorization": authorization})
    _assert_401(response, invalid=True)


def test_a_revoked_token_is_401_at_once(client: TestClient, db: Database) -> None:
    made = ok(client.post(f"{API}/auth/tokens", json={"name": "laptop"}), 201)
    token = made["token"]
    assert token.startswith("ll_") and made["prefix"] == token[:8]
    assert made["revoked_at"] is None and "no-store" in client.post(
        f"{API}/auth/tokens", json={"name": "second"}
    ).headers.get("cache-control", "")
    mine = {"Authorization": f"Bearer {token}"}
    assert ok(client.get(f"{API}/me", headers=mine))["person"]["handle"] == "admin"

    listed = ok(client.get(f"{API}/auth/tokens"))
    assert {t["name"] for t in listed} >= {"laptop", "second", "tests"}
    assert all("token" not in t and "token_hash" not in t for t in listed)

    revoked = ok(client.delete(f"{API}/auth/tokens/{made['id']}", headers=mine))  # a token may revoke itself
    assert revoked["revoked_at"] is not None
    _assert_401(client.get(f"{API}/failures", headers=mine), invalid=True)
    assert ok(client.delete(f"{API}/auth/tokens/{made['id']}"))["revoked_at"]  # twice is harmless
    with db.unit() as session:  # the plaintext is nowhere in the database
        assert token not in {t.token_hash for t in session.scalars(select(ApiToken))}


def test_someone_elses_token_is_404_to_revoke_but_an_admin_may(client: TestClient, db: Database) -> None:
    with db.unit() as session:
        add_person(session, name="Ana", handle="ana", viewer=SYSTEM)
        add_person(session, name="Ben", handle="ben", viewer=SYSTEM)
    ana, ben = as_user(db, "ana"), as_user(db, "ben")
    ana_token = ok(client.post(f"{API}/auth/tokens", json={"name": "ana's"}, headers=ana), 201)
    assert client.delete(f"{API}/auth/tokens/{ana_token['id']}", headers=ben).status_code == 404
    assert ana_token["id"] not in {t["id"] for t in ok(client.get(f"{API}/auth/tokens", headers=ben))}
    assert ok(client.delete(f"{API}/auth/tokens/{ana_token['id']}"))["revoked_at"]  # the org admin
    assert client.post(f"{API}/auth/tokens", json={"name": ""}, headers=ana).status_code == 422


def test_me(client: TestClient, db: Database) -> None:
    with db.unit() as session:
        team = add_team(session, name="Payments", viewer=SYSTEM)
        ana = add_person(session, name="Ana", handle="ana", viewer=SYSTEM)
        add_member(session, team=team, person=ana, role="lead", viewer=SYSTEM)
    me = ok(client.get(f"{API}/me", headers=as_user(db, "ana")))
    assert me["person"]["handle"] == "ana" and me["is_admin"] is False and me["has_account"] is False
    assert me["teams"] == [{"team_id": team.id, "team": "Payments", "role": "lead"}]
    assert me["authenticated_by"] == "token"
    admin = ok(client.get(f"{API}/me"))
    assert admin["is_admin"] is True and admin["has_account"] is True and admin["teams"] == []


def _cookie_client(anon: TestClient, db: Database, handle: str = "ana", **kwargs: Any) -> str:
    with db.unit() as session:
        add_person(session, name=handle.title(), handle=handle, viewer=SYSTEM)
        session_id = start_session(session, handle, **kwargs)
    anon.cookies.set(SESSION_COOKIE, session_id)
    return session_id


def test_the_web_session_cookie_signs_in_too(anon: TestClient, db: Database) -> None:
    _cookie_client(anon, db)
    me = ok(anon.get(f"{API}/me"))
    assert me["person"]["handle"] == "ana" and me["authenticated_by"] == "session"
    # a same-origin change is fine; the actor is the person behind the cookie
    made = ok(
        anon.post(
            f"{API}/failures",
            json={"title": "Logged from the page"},
            headers={"Sec-Fetch-Site": "same-origin"},
        ),
        201,
    )
    assert ok(anon.get(f"{API}/failures/{made['id']}/history"))[0]["actor"] == "ana"
    # a change the browser says comes from another site is refused
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}, {"Origin": "null"}):
        refused = anon.post(f"{API}/failures", json={"title": "CSRF"}, headers=headers)
        assert refused.status_code == 403 and refused.json()["field"] == "origin", headers
    assert anon.get(f"{API}/failures", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 200  # reads
    # a bearer header always decides, even next to a valid cookie
    _assert_401(anon.get(f"{API}/me", headers={"Authorization": "Bearer ll_nope"}), invalid=True)


def test_an_unknown_or_expired_session_is_401(anon: TestClient, db: Database) -> None:
    _cookie_client(anon, db, now=dt.datetime.now(dt.UTC) - dt.timedelta(days=30))
    _assert_401(anon.get(f"{API}/me"))
    anon.cookies.set(SESSION_COOKIE, "made-up")
    _assert_401(anon.get(f"{API}/me"))


def test_security_headers_on_every_response(client: TestClient, anon: TestClient) -> None:
    for response in (
        client.get(f"{API}/failures"),
        client.get(f"{API}/failures/999"),
        anon.get(f"{API}/failures"),
        client.post(f"{API}/failures", json={}),
        client.get("/healthz"),
        client.get(f"{API}/openapi.json"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert response.headers["cache-control"] == "no-store"
    docs = client.get(f"{API}/docs")
    assert docs.headers["x-frame-options"] == "DENY"
    assert (
        "'unsafe-inline'" not in docs.headers["content-security-policy"].split("script-src")[1].split(";")[0]
    )
