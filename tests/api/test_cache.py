"""Kept answers (api/cache.py) and the data version they are keyed on (store/version.py).

Every test runs on both backends: a kept answer must never outlive a commit, whoever made it.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from lessonloop.app import create_app
from lessonloop.failures.service import log_failure
from lessonloop.people.service import add_member, add_person, add_team
from lessonloop.settings import Settings
from lessonloop.store.engine import Database
from lessonloop.store.version import DataVersion
from tests.api.conftest import API, as_user, ok
from tests.factories import SYSTEM


def _titles(response: object) -> list[str]:
    return [f["title"] for f in ok(response)["items"]]


def _kept(client: TestClient, headers: dict[str, str] | None = None, **params: object) -> Any:
    """The list answered from the cache: asked until a hit comes back (at most 20 times).

    On PostgreSQL the data version is the cluster's snapshot, so a write to *another* database on
    the same server (another test run, a bench) turns the next answer into a miss — a missed entry,
    never a stale one (store/version.py). One retry is enough on a quiet server; a cache that never
    keeps anything still fails here."""
    for _ in range(20):
        response = client.get(f"{API}/failures", headers=headers, params=params)
        if response.headers["x-cache"] == "hit":
            return response
    raise AssertionError("the list was never answered from the cache")


def test_the_data_version_changes_with_every_commit_and_only_then(db: Database) -> None:
    first = db.data_version()
    assert first is not None
    assert db.data_version() == first  # reads change nothing
    with db.unit() as session:
        session.connection()  # a transaction that writes nothing
    assert db.data_version() == first
    with db.unit(actor="test") as session:
        log_failure(
            session, title="Checkout release missed the launch date", kind="missed-deadline", viewer=SYSTEM
        )
    second = db.data_version()
    assert second is not None and second != first
    # Another engine on the same database, as another process would be.
    other = Database.open(db.settings, migrate=False)
    try:
        with other.unit(actor="test") as session:
            log_failure(session, title="Refund batch doubled", kind="other", viewer=SYSTEM)
    finally:
        other.close()
    assert db.data_version() not in (first, second)


def test_an_in_memory_database_has_no_version() -> None:
    memory = Database.open(Settings(database_url="sqlite://"))
    try:
        assert memory.data_version() is None
        assert not DataVersion(memory.engine).enabled
    finally:
        memory.close()


def test_a_list_is_kept_until_a_write_from_any_connection(client: TestClient, db: Database) -> None:
    ok(client.post(f"{API}/failures", json={"title": "Checkout release missed the launch date"}), 201)
    first = client.get(f"{API}/failures")
    assert first.headers["x-cache"] == "miss" and _titles(first) == [
        "Checkout release missed the launch date"
    ]
    assert _kept(client).content == first.content
    # Another query string is another answer.
    assert client.get(f"{API}/failures", params={"page_size": 1}).headers["x-cache"] == "miss"

    # A write through the API...
    ok(client.post(f"{API}/failures", json={"title": "Refund batch doubled", "kind": "other"}), 201)
    after_api = client.get(f"{API}/failures")
    assert after_api.headers["x-cache"] == "miss"
    assert set(_titles(after_api)) == {"Checkout release missed the launch date", "Refund batch doubled"}
    assert _kept(client).content == after_api.content

    # ... and one from another connection (the CLI, the worker, another server).
    other = Database.open(db.settings, migrate=False)
    try:
        with other.unit(actor="cli") as session:
            log_failure(session, title="Status page went stale", kind="other", viewer=SYSTEM)
    finally:
        other.close()
    after_other = client.get(f"{API}/failures")
    assert after_other.headers["x-cache"] == "miss" and "Status page went stale" in _titles(after_other)


def test_kept_answers_are_per_viewer_and_follow_membership_changes(client: TestClient, db: Database) -> None:
    with db.unit(actor="test") as session:
        team = add_team(session, name="Payments", viewer=SYSTEM)
        ana = add_person(session, name="Ana Lead", handle="ana", viewer=SYSTEM)
        add_person(session, name="Cy Outsider", handle="cy", viewer=SYSTEM)
        add_member(session, team=team, person=ana, role="lead", viewer=SYSTEM)
        log_failure(
            session,
            title="Refund batch doubled",
            kind="other",
            team="Payments",
            visibility="team",
            viewer=SYSTEM,
        )
    ana_headers, cy_headers = as_user(db, "ana"), as_user(db, "cy")
    assert _titles(client.get(f"{API}/failures", headers=ana_headers)) == ["Refund batch doubled"]
    cy_first = client.get(f"{API}/failures", headers=cy_headers)
    assert _titles(cy_first) == []  # not ana's kept answer
    assert _titles(_kept(client, cy_headers)) == []
    assert _titles(client.get(f"{API}/failures", headers=ana_headers)) == ["Refund batch doubled"]

    with db.unit(actor="test") as session:  # cy joins the team: a commit
        add_member(session, team="Payments", person="cy", viewer=SYSTEM)
    cy_member = client.get(f"{API}/failures", headers=cy_headers)
    assert cy_member.headers["x-cache"] == "miss" and _titles(cy_member) == ["Refund batch doubled"]


def test_a_revoked_token_is_refused_although_its_check_was_kept(client: TestClient) -> None:
    made = ok(client.post(f"{API}/auth/tokens", json={"name": "script"}), 201)
    mine = {"Authorization": f"Bearer {made['token']}"}
    for _ in range(3):  # checked once, then kept
        ok(client.get(f"{API}/failures", headers=mine))
    ok(client.delete(f"{API}/auth/tokens/{made['id']}"))
    assert client.get(f"{API}/failures", headers=mine).status_code == 401


def test_the_cache_can_be_turned_off(db: Database) -> None:
    settings = Settings(database_url=db.settings.database_url, api_cache=False)
    headers = as_user(db, "admin", admin=True)
    with TestClient(create_app(settings, database=db), headers=headers) as off:
        assert off.app.state.response_cache is None  # type: ignore[attr-defined]
        ok(off.post(f"{API}/failures", json={"title": "Checkout release missed the launch date"}), 201)
        assert [off.get(f"{API}/failures").headers["x-cache"] for _ in range(2)] == ["miss", "miss"]
