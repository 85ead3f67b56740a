"""After a failure is logged: similar failures, a repeat suggestion, escalations (CLI and API)."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from lessonloop.app import create_app
from lessonloop.signals.observe import after_logging
from lessonloop.store.engine import Database
from tests.api.conftest import as_user
from tests.cli import Cli
from tests.factories import SYSTEM, failure, reviewed, team_with_people


def test_after_logging_suggests_a_close_repeat(session: Session) -> None:
    team_with_people(session)
    first = failure(
        session, title="Nightly export job timed out on the reporting database", detected_at="2026-11-01"
    )
    reviewed(session, first, root_cause="Export query scans the whole table")
    failure(session, title="Pricing page copy confused enterprise buyers", detected_at="2026-11-02")
    again = failure(session, title="Nightly export job timed out again on reporting database")
    report = after_logging(session, again, viewer=SYSTEM)
    assert report.similar[0].id == first.id
    assert report.similar[0].root_cause == "Export query scans the whole table"
    assert report.suggested_repeat is not None and report.suggested_repeat.id == first.id
    assert report.repeat_overlap >= 0.6
    unrelated = failure(session, title="Quarterly budget cut stalled the hiring plan")
    assert after_logging(session, unrelated, viewer=SYSTEM).suggested_repeat is None


def test_after_logging_opens_escalation_on_third_repeat(session: Session) -> None:
    now = dt.datetime.now(dt.UTC)
    for n in (20, 10):
        failure(
            session,
            title=f"bad config {n}",
            labels=["config"],
            detected_at=(now - dt.timedelta(days=n)).isoformat(),
        )
    third = failure(session, title="bad config again", labels=["config"])
    assert [e.rule for e in after_logging(session, third, viewer=SYSTEM).escalations] == ["label"]


def test_cli_log_shows_similar_and_repeat_hint(sqlite_db: Database) -> None:
    cli = Cli(str(sqlite_db.engine.url))
    cli("log", "Nightly export job timed out on the reporting database", "--detected", "2026-11-01")
    out = cli("log", "Nightly export job timed out again on reporting database").stdout
    assert "have we seen this before?" in out and "#1 Nightly export" in out
    assert "lessonloop repeat 2 --of 1" in out


def test_api_similar_endpoints(sqlite_db: Database) -> None:
    with sqlite_db.unit() as s:
        failure(s, title="Nightly export job timed out on the reporting database", detected_at="2026-11-01")
        failure(s, title="Nightly export job timed out again on reporting database")
    headers = as_user(sqlite_db, "admin", admin=True)  # the API needs a signed-in person
    with TestClient(create_app(database=sqlite_db), headers=headers) as client:
        body = client.get("/api/v1/failures/2/similar").json()
        assert body["matches"][0]["id"] == 1 and body["suggested_repeat"]["failure_id"] == 1
        hits = client.post("/api/v1/similar", json={"title": "export job timeout"}).json()
        assert {h["id"] for h in hits} == {1, 2}
        assert client.get("/api/v1/failures/99/similar").status_code == 404
        assert client.post("/api/v1/similar", json={"title": ""}).status_code == 422
