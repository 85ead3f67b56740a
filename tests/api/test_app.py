"""The app factory, the transaction per request, the OpenAPI document and the actor seam."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast, get_args

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from lessonloop.actions.models import Action
from lessonloop.api.deps import current_actor
from lessonloop.api.search import SearchKind
from lessonloop.app import create_app
from lessonloop.failures.models import Failure
from lessonloop.people.models import Person
from lessonloop.reviews.models import Review
from lessonloop.settings import Settings
from lessonloop.store.engine import Database
from lessonloop.store.history import HistoryEntry
from lessonloop.store.search import KIND_CODES
from tests.api.conftest import ANSWERS, API, day, ok, setup_people


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


def test_a_failing_commit_is_an_error_not_a_200(db: Database) -> None:
    """The commit runs before the response is sent: if it fails, the client hears so."""

    def refuse(_session: Any) -> None:
        raise RuntimeError("the disk is full")

    event.listen(db.sessions, "before_commit", refuse)
    try:
        with TestClient(create_app(database=db), raise_server_exceptions=False) as client:
            response = client.post(f"{API}/people", json={"name": "Ana", "handle": "ana"})
        assert response.status_code == 500
    finally:
        event.remove(db.sessions, "before_commit", refuse)
    assert count(db, Person) == 0


def test_each_request_commits_its_own_work(client: TestClient, db: Database) -> None:
    ok(client.post(f"{API}/people", json={"name": "Ana", "handle": "ana"}), 201)
    conflict = client.post(f"{API}/people", json={"name": "Ana again", "handle": "ana"})
    assert conflict.status_code == 409 and conflict.json()["field"] == "handle"
    assert count(db, Person) == 1  # the first request was committed, the second rolled back


def test_the_actor_header_is_recorded(client: TestClient, db: Database) -> None:
    ok(client.post(f"{API}/failures", json={"title": "a"}, headers={"X-Lessonloop-Actor": "  ana  "}), 201)
    ok(client.post(f"{API}/failures", json={"title": "b"}), 201)
    with db.unit() as session:
        actors = list(session.scalars(select(HistoryEntry.actor).order_by(HistoryEntry.id)))
    assert actors == ["ana", "api"]
    too_long = client.post(f"{API}/failures", json={"title": "c"}, headers={"X-Lessonloop-Actor": "x" * 201})
    assert too_long.status_code == 422
    assert too_long.json()["detail"][0]["loc"] == ["header", "X-Lessonloop-Actor"]
    assert count(db, Failure) == 2


def test_every_route_depends_on_current_actor(client: TestClient) -> None:
    """Authentication will replace one function: every API route must go through it."""
    app = cast(FastAPI, client.app)
    # current_actor reads the X-Lessonloop-Actor header: an operation that lists the header
    # depends on it, whichever way FastAPI nests the included routers.
    operations = ok(client.get(f"{API}/openapi.json"))["paths"]
    count = 0
    for path, methods in operations.items():
        for method, operation in methods.items():
            count += 1
            names = {p["name"] for p in operation.get("parameters", [])}
            assert "X-Lessonloop-Actor" in names, (method, path)
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
        "/actions": {"get", "post"},
        "/actions/overdue": {"get"},
        "/actions/{action_id}": {"get"},
        "/actions/{action_id}/complete": {"post"},
        "/actions/{action_id}/drop": {"post"},
        "/actions/{action_id}/reschedule": {"post"},
        "/experiments": {"get", "post"},
        "/experiments/{experiment_id}": {"get"},
        "/experiments/{experiment_id}/observations": {"post"},
        "/lessons": {"get", "post"},
        "/lessons/{lesson_id}": {"get"},
        "/lessons/{lesson_id}/publish": {"post"},
        "/assumptions": {"get"},
        "/people": {"get", "post"},
        "/people/{person}": {"get"},
        "/teams": {"get", "post"},
        "/teams/{team}": {"get"},
        "/teams/{team}/members": {"post"},
        "/search": {"get"},
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
    assert "X-Lessonloop-Actor" in {p["name"] for p in listed["parameters"]}
    assert {"404", "409", "422"} <= set(
        paths[f"{API}/failures/{{failure_id}}/transition"]["post"]["responses"]
    )


def test_docs_root_and_health(client: TestClient) -> None:
    docs = client.get(f"{API}/docs")
    assert docs.status_code == 200 and f"{API}/openapi.json" in docs.text
    root = client.get("/", follow_redirects=False)
    assert root.status_code in (302, 307) and root.headers["location"] == f"{API}/docs"
    assert ok(client.get("/healthz")) == {"status": "ok"}


def test_search_kinds_match_the_index() -> None:
    assert set(get_args(SearchKind)) == set(KIND_CODES)


def test_create_app_opens_migrates_and_closes_its_own_database(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'fresh.db'}")
    app = create_app(settings)
    assert app.state.settings is settings
    with TestClient(app) as client:
        ok(client.post(f"{API}/teams", json={"name": "Payments"}), 201)
        assert [t["name"] for t in ok(client.get(f"{API}/teams"))] == ["Payments"]
    # shut down: the app closed the engine it opened; a new app sees the saved team
    with TestClient(create_app(settings)) as client:
        assert [t["name"] for t in ok(client.get(f"{API}/teams"))] == ["Payments"]


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
