"""`lessonloop user create` and `lessonloop token create|list|revoke`, and the token at the API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import select

from lessonloop.accounts import crypto
from lessonloop.accounts.models import Account, ApiToken
from lessonloop.accounts.service import authenticate
from lessonloop.app import create_app
from lessonloop.people.models import Person
from lessonloop.people.service import add_person
from lessonloop.store.base import utcnow
from lessonloop.store.engine import Database
from tests.cli import Cli
from tests.factories import SYSTEM

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def _cheap_hasher(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(crypto, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    yield


@pytest.fixture
def cli(sqlite_db: Database) -> Cli:
    return Cli(sqlite_db.settings.database_url)


def test_user_create_with_a_prompted_password(cli: Cli, sqlite_db: Database) -> None:
    result = cli("user", "create", "ana", "--name", "Ana Lopez", "--admin", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert "created user ana" in result.stdout and "org admin" in result.stdout
    assert PASSWORD not in result.stdout  # not echoed
    with sqlite_db.unit() as session:
        account = session.scalars(select(Account)).one()
        assert account.is_admin and account.password_hash.startswith("$argon2id$")
        assert authenticate(session, "ana", PASSWORD, now=utcnow()).handle == "ana"


def test_user_create_from_stdin_and_for_an_existing_person(cli: Cli, sqlite_db: Database) -> None:
    with sqlite_db.unit() as session:
        add_person(session, name="Ben Ruiz", handle="ben", email="ben@example.com", viewer=SYSTEM)
    result = cli("user", "create", "ben", "--password-stdin", input=f"  {PASSWORD}  \n")
    assert "created user ben" in result.stdout and "org admin" not in result.stdout
    with sqlite_db.unit() as session:
        assert session.scalar(select(Account.is_admin)) is False
        # what was typed is what is hashed: the spaces are part of the password
        assert authenticate(session, "ben@example.com", f"  {PASSWORD}  ", now=utcnow()).handle == "ben"
        assert len(session.scalars(select(Person)).all()) == 1


def test_user_create_refusals(cli: Cli, sqlite_db: Database) -> None:
    assert "--name: is required for a new person" in cli.fails(
        "user", "create", "zed", "--password-stdin", input="x\n"
    )
    assert "password" in cli.fails(
        "user", "create", "zed", "--name", "Zed", "--password-stdin", input="short\n"
    )
    mismatch = cli(
        "user",
        "create",
        "zed",
        "--name",
        "Zed",
        input=f"{PASSWORD}\nsomething else\n{PASSWORD}\n{PASSWORD}\n",
    )
    assert "created user zed" in mismatch.stdout  # asked again after the mismatch
    assert "has an account already" in cli.fails(
        "user", "create", "zed", "--password-stdin", input=f"{PASSWORD}\n"
    )
    with sqlite_db.unit() as session:
        assert [p.handle for p in session.scalars(select(Person))] == ["zed"]


def test_token_create_list_revoke_and_use(cli: Cli, sqlite_db: Database) -> None:
    cli("user", "create", "ana", "--name", "Ana", "--admin", "--password-stdin", input=f"{PASSWORD}\n")
    created = cli("token", "create", "--user", "ana", "--name", "laptop")
    token = created.stdout.strip()
    assert token.startswith("ll_") and len(created.stdout.splitlines()) == 1  # stdout: the token alone
    assert "not shown again" in created.stderr
    with sqlite_db.unit() as session:
        assert token not in {t.token_hash for t in session.scalars(select(ApiToken))}

    listed = cli.json("token", "list")
    assert [(t["id"], t["user"], t["name"], t["prefix"]) for t in listed] == [(1, "ana", "laptop", token[:8])]
    assert token not in cli("token", "list").stdout
    assert cli.json("token", "list", "--user", "ana")[0]["revoked_at"] is None

    with TestClient(create_app(database=sqlite_db)) as client:
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json()["person"]["handle"] == "ana" and me.json()["is_admin"]
        assert "revoked token 1 (laptop) of ana" in cli("token", "revoke", "1").stdout
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert cli.json("token", "list")[0]["revoked_at"] is not None
    assert "no api_token with id 9" in cli.fails("token", "revoke", "9")
    assert "no person 'zed'" in cli.fails("token", "create", "--user", "zed")


def test_a_token_for_a_person_without_a_password(cli: Cli, sqlite_db: Database) -> None:
    with sqlite_db.unit() as session:
        add_person(session, name="Bot", handle="ci-bot", viewer=SYSTEM)
    created = cli("token", "create", "--user", "ci-bot")
    assert "has no password" in created.stderr and created.stdout.startswith("ll_")
