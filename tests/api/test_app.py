"""The app factory, the transaction per request, the OpenAPI document and the authentication seam."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast, get_args

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from lessonloop.actions.models import Action
from lessonloop.api.deps import AUTH_ACTOR, current_actor
from lessonloop.api.search import SearchKind
from lessonloop.app import create_app
from lessonloop.failures.models import Failure
from lessonloop.people.models import Person
from lessonloop.reviews.models import Review
from lessonloop.settings import Settings
from lessonloop.store.engine import Database
from lessonloop.store.history import HistoryEntry
from lessonloop.store.search import KIND_CODES
from tests.api.conftest import ANSWERS, API, as_user, day, ok, setup_people


def count(db: Database, model: Any) -> int:
    with db.unit() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_refused_review_leaves_nothing_written(client: TestClient, db: Database) -> None:
    setup_people(client)
    fid = ok(client.post(f"{API}/failures", json={"title": "Churn after the pricing change"}), 201)["id"]
    history_before = count(db, HistoryEntry)
    body = {
        "answers": ANSWERS,
        "primary_action": {"title": "Price-change checklist", "owner": "ben", "due_date": day(7)},
        # the second action's owner does not exist: the whole review must be refused
        "secondary_actions": [{"title": "Call the churned accounts", "owner": "zed", "due_date": day(3)}],
    }
    response = client.post(f"{API}/failures/{fid}/review", json=body)
    assert response.status_code == 404 and response.json()["field"] == "owner"
    assert count(db, Review) == 0
    assert count(db, Action) == 0
    assert count(db, HistoryEntry) == history_before
    assert ok(client.get(f"{API}/failures/{fid}"))["status"] == "observed"
    assert ok(client.get(f"{API}/assumptions")) == []  # the assumption was rolled back too

    missing_owner = client.post(
        f"{API}/failures/{fid}/review",
        json={**body, "secondary_actions": [], "primary_action": {"title": "t", "due_date": day(7)}},
    )
    assert missing_owner.status_code == 422
    assert missing_owner.json()["detail"][0]["loc"] == ["body", "primary_action", "owner"]
    assert missing_owner.json()["detail"][0]["type"] == "missing"
    assert count(db, Review) == 0


def test_a_failing_commit_is_an_error_not_a_200(db: Database, admin_headers: dict[str, str]) -> None:
    """The commit runs before the response is sent: if it fails, the client hears so."""
    people_before = count(db, Person)  # the signed-in admin

    def refuse(session: Any) -> None:
        if session.info.get("actor") != AUTH_ACTOR:  # checking the token still works
            raise RuntimeError("the disk is full")

    event.listen(db.sessions, "before_commit", refuse)
    try:
        with TestClient(
            create_app(database=db), raise_server_exceptions=False, headers=admin_headers
        ) as client:
            response = client.post(f"{API}/people", json={"name": "Ana", "handle": "ana"})
        assert response.status_code == 500
    finally:
        event.remove(db.sessions, "before_commit", refuse)
    assert count(db, Person) == people_before


def test_each_request_commits_its_own_work(client: TestClient, db: Database) -> None:
    people_before = count(db, Person)  # the signed-in admin
    ok(client.post(f"{API}/people", json={"name": "Ana", "handle": "ana"}), 201)
    conflict = client.post(f"{API}/people", json={"name": "Ana again", "handle": "ana"})
    assert conflict.status_code == 409 and conflict.json()["field"] == "handle"
    assert count(db, Person) == people_before + 1  # the first request was committed, the second rolled back


def test_the_signed_in_handle_is_the_actor(client: TestClient, db: Database) -> None:
    ana = as_user(db, "ana")
    ok(client.post(f"{API}/failures", json={"title": "a"}, headers=ana), 201)
    ok(client.post(f"{API}/failures", json={"title": "b"}), 201)
    with db.unit() as session:
        actors = list(
            session.scalars(
                select(HistoryEntry.actor)
                .where(HistoryEntry.record_type == "failure")
                .order_by(HistoryEntry.id)
            )
        )
    assert actors == ["ana", "admin"]
    # the old header names nobody any more: the token decides
    spoof = {**ana, "X-Lessonloop-Actor": "someone-else"}
    ok(client.post(f"{API}/failures", json={"title": "c"}, headers=spoof), 201)
    with db.unit() as session:
        last = session.scalars(select(HistoryEntry.actor).order_by(HistoryEntry.id.desc())).first()
    assert last == "ana"
    assert count(db, Failure) == 3


def test_every_route_depends_on_current_actor(client: TestClient) -> None:
    """Authentication is one function: every API route goes through it, and says so."""
    app = cast(FastAPI, client.app)
    # current_principal declares the bearer and cookie schemes: every operation lists them,
    # whichever way FastAPI nests the included routers.
    operations = ok(client.get(f"{API}/openapi.json"))["paths"]
    count = 0
    for path, methods in operations.items():
        for method, operation in methods.items():
            count += 1
            assert operation.get("security") == [{"token": []}, {"session": []}], (method, path)
            assert "401" in operation["responses"], (method, path)
    assert count >= 40

    calls: list[str] = []

    def spy() -> str:
        calls.append("x")
        return "spy"

    app.dependency_overrides[current_actor] = spy
    try:
        fid = ok(client.post(f"{API}/failures", json={"title": "seen by the spy"}), 201)["id"]
        ok(client.get(f"{API}/failures"))
        ok(client.get(f"{API}/search", params={"q": "spy"}))
    finally:
        app.dependency_overrides.clear()
    assert len(calls) == 3  # once per request, however many dependencies ask for it
    history = ok(client.get(f"{API}/failures/{fid}/history"))
    assert history[0]["actor"] == "spy"


def test_openapi_lists_the_paths(client: TestClient) -> None:
    doc = ok(client.get(f"{API}/openapi.json"))
    assert doc["info"]["title"] == "lessonloop"
    paths = doc["paths"]
    for path, methods in {
        "/failures": {"get", "post"},
        "/failures/{failure_id}": {"get", "patch", "delete"},
        "/failures/{failure_id}/transition": {"post"},
        "/failures/{failure_id}/repeat": {"post"},
        "/failures/{failure_id}/overview": {"get"},
        "/failures/{failure_id}/history": {"get"},
        "/failures/{failure_id}/review": {"get", "post"},
        "/reviews": {"post"},
        "/reviews/{review_id}": {"get", "patch"},
        "/reviews/{review_id}/actions": {"post"},
        "/reviews/{review_id}/complete": {"post"},
        "/reviews/{review_id}/revise": {"post"},
        "/actions": {"get", "post"},
        "/actions/overdue": {"get"},
        "/actions/{action_id}": {"get", "patch"},
        "/actions/{action_id}/complete": {"post"},
        "/actions/{action_id}/drop": {"post"},
        "/actions/{action_id}/reschedule": {"post"},
        "/experiments": {"get", "post"},
        "/experiments/{experiment_id}": {"get", "patch", "delete"},
        "/experiments/{experiment_id}/observations": {"post"},
        "/experiments/{experiment_id}/observations/{observation_id}": {"patch", "delete"},
        "/lessons": {"get", "post"},
        "/lessons/{lesson_id}": {"get", "patch"},
        "/lessons/{lesson_id}/publish": {"post"},
        "/lessons/{lesson_id}/unpublish": {"post"},
        "/lessons/{lesson_id}/retract": {"post"},
        "/assumptions": {"get"},
        "/people": {"get", "post"},
        "/people/{person}": {"get"},
        "/teams": {"get", "post"},
        "/teams/{team}": {"get"},
        "/teams/{team}/members": {"post"},
        "/search": {"get"},
        "/me": {"get"},
        "/auth/tokens": {"get", "post"},
        "/auth/tokens/{token_id}": {"delete"},
        "/coaching-notes": {"get", "post"},
        "/coaching-notes/{note_id}": {"get", "delete"},
        "/development-plans": {"get", "post"},
        "/development-plans/{plan_id}": {"get"},
        "/development-plans/{plan_id}/complete": {"post"},
        "/export": {"get"},
    }.items():
        assert set(paths[f"{API}{path}"]) == methods, path
    assert "/healthz" not in paths and "/" not in paths
    listed = paths[f"{API}/failures"]["get"]
    assert {p["name"] for p in listed["parameters"]} >= {
        "page",
        "page_size",
        "team",
        "status",
        "since",
        "until",
    }
    assert {"404", "409", "422", "401", "403"} <= set(
        paths[f"{API}/failures/{{failure_id}}/transition"]["post"]["responses"]
    )


def test_docs_root_and_health(client: TestClient) -> None:
    docs = client.get(f"{API}/docs")
    assert docs.status_code == 200 and f"{API}/openapi.json" in docs.text
    assert "script-src https://cdn.jsdelivr.net 'sha256-" in docs.headers["content-security-policy"]
    assert client.get("/", follow_redirects=False).status_code < 500  # the web pages' own
    assert ok(client.get("/healthz")) == {"status": "ok"}


def test_search_kinds_match_the_index() -> None:
    assert set(get_args(SearchKind)) == set(KIND_CODES)


def test_create_app_opens_migrates_and_closes_its_own_database(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'fresh.db'}")
    app = create_app(settings)
    assert app.state.settings is settings
    with TestClient(app) as client:
        headers = as_user(app.state.db, "admin", admin=True)
        ok(client.post(f"{API}/teams", json={"name": "Payments"}, headers=headers), 201)
        assert [t["name"] for t in ok(client.get(f"{API}/teams", headers=headers))] == ["Payments"]
    # shut down: the app closed the engine it opened; a new app sees the saved team
    with TestClient(create_app(settings)) as client:
        assert [t["name"] for t in ok(client.get(f"{API}/teams", headers=headers))] == ["Payments"]


def test_create_app_leaves_a_given_database_open(sqlite_db: Database) -> None:
    with TestClient(create_app(database=sqlite_db)) as client:
        ok(client.get("/healthz"))
    with sqlite_db.unit() as session:  # still usable after the app shut down
        assert session.scalar(select(func.count()).select_from(Person)) == 0


def test_health_is_503_when_the_database_is_gone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = Database.open(Settings(database_url=f"sqlite:///{tmp_path / 'h.db'}"))
    client = TestClient(create_app(database=db))

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise OSError("connection refused")

    monkeypatch.setattr(db.engine, "connect", broken)
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["status"] == "unavailable"
    db.close()
