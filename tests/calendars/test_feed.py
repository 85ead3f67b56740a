"""Calendar feeds: valid iCalendar, stable UIDs, secret and revocable tokens."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar

from lessonloop.actions.service import add_action
from lessonloop.app import create_app
from lessonloop.calendars import service as calendars
from lessonloop.calendars.models import CalendarToken
from lessonloop.errors import Invalid, NotFound
from lessonloop.experiments.service import add_experiment
from lessonloop.notifications.config import WorkerConfig
from lessonloop.store.engine import Database
from lessonloop.worker.runner import run_once
from tests.cli import Cli
from tests.factories import SYSTEM, failure, team_with_people

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
TODAY = NOW.date()


def _world(db: Database) -> dict[str, int]:
    with db.unit() as s:
        team_with_people(s)
        f = failure(s, title="Checkout down, twice", team="Payments", severity="high", detected_at=NOW)
        a = add_action(
            s,
            failure_id=f.id,
            title="Add a canary; check it, twice",
            owner="ben",
            due_date=TODAY + dt.timedelta(days=7),
            review_date=TODAY + dt.timedelta(days=21),
            viewer=SYSTEM,
        )
        e = add_experiment(
            s,
            action_id=a.id,
            hypothesis="Canaries catch bad deploys",
            metric="bad deploys",
            comparator="<=",
            threshold=0,
            start_date=TODAY,
            end_date=TODAY + dt.timedelta(days=30),
            viewer=SYSTEM,
        )
        ids = {"failure": f.id, "action": a.id, "experiment": e.id}
    run_once(db, now=NOW, config=WorkerConfig(reflection_within_days=3), only_jobs={"reflection-sessions"})
    return ids


def _events(text: str) -> dict[str, tuple[dt.date, str]]:
    cal = Calendar.from_ical(text)
    assert cal.name == "VCALENDAR" and str(cal["VERSION"]) == "2.0"
    return {str(ev["UID"]): (ev.decoded("DTSTART"), str(ev["SUMMARY"])) for ev in cal.walk("VEVENT")}


def test_person_and_team_feeds(db: Database) -> None:
    ids = _world(db)
    with db.unit() as s:
        _row, ben = calendars.create_token(s, person="ben", viewer=SYSTEM)
        _row, team = calendars.create_token(s, team="Payments", viewer=SYSTEM)
        _row, ana = calendars.create_token(s, person="ana", viewer=SYSTEM)
    with db.unit() as s:
        person_text = calendars.feed(s, ben, today=TODAY)
        team_text = calendars.feed(s, team, today=TODAY)
        ana_text = calendars.feed(s, ana, today=TODAY)
    assert "\r\n" in person_text
    a, e = ids["action"], ids["experiment"]
    person = _events(person_text)
    assert person[f"action-{a}-due@lessonloop"] == (
        TODAY + dt.timedelta(days=7),
        "Due: Add a canary; check it, twice",
    )
    assert person[f"action-{a}-review@lessonloop"][0] == TODAY + dt.timedelta(days=21)
    assert person[f"experiment-{e}-end@lessonloop"][0] == TODAY + dt.timedelta(days=30)
    reflection = [uid for uid in person if uid.startswith("reflection-")]
    assert len(reflection) == 1 and person[reflection[0]][0] == TODAY + dt.timedelta(days=3)
    assert set(_events(team_text)) == set(person)
    # Ana (the lead) owns no action but facilitates the reflection session.
    assert set(_events(ana_text)) == set(reflection)
    # Stable: the same document twice, the same UIDs after a date moves.
    with db.unit() as s:
        assert calendars.feed(s, ben, today=TODAY) == person_text


def test_tokens_are_hashed_and_revocable(db: Database) -> None:
    _world(db)
    with db.unit() as s:
        row, plaintext = calendars.create_token(s, person="ben", viewer=SYSTEM)
        assert row.token_hash != plaintext and plaintext not in row.token_hash
        with pytest.raises(Invalid):
            calendars.create_token(s, person="ben", team="Payments", viewer=SYSTEM)
        with pytest.raises(Invalid):
            calendars.create_token(s, viewer=SYSTEM)
    with db.unit() as s:
        calendars.revoke_token(s, row.id, viewer=SYSTEM)
    with db.unit() as s, pytest.raises(NotFound):
        calendars.feed(s, plaintext)
    with db.unit() as s, pytest.raises(NotFound):
        calendars.feed(s, "cal_not-a-token")
    with db.unit() as s:
        assert s.get(CalendarToken, row.id) is not None


def test_the_route_serves_text_calendar(sqlite_db: Database) -> None:
    _world(sqlite_db)
    with sqlite_db.unit() as s:
        _row, token = calendars.create_token(s, team="Payments", viewer=SYSTEM)
    # The app factory mounts the feed outside /api/v1: a calendar program has no sign-in.
    client = TestClient(create_app(database=sqlite_db))
    response = client.get(f"/calendar/{token}.ics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    assert _events(response.text)
    with sqlite_db.unit() as s:
        calendars.revoke_token(s, token, viewer=SYSTEM)
    assert client.get(f"/calendar/{token}.ics").status_code == 404


def test_long_lines_fold_and_text_escapes() -> None:
    event = calendars.Event(
        uid="x@lessonloop",
        day=TODAY,
        summary="é, ; \\ " * 30,
        description="line one\nline two",
        stamp=NOW,
        categories="ACTION-DUE",
    )
    text = calendars.render([event], name="Test")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    (ev,) = Calendar.from_ical(text).walk("VEVENT")
    assert str(ev["SUMMARY"]) == "é, ; \\ " * 30
    assert str(ev["DESCRIPTION"]) == "line one\nline two"


def test_cli_token_and_revoke(sqlite_db: Database) -> None:
    _world(sqlite_db)
    cli = Cli(sqlite_db.settings.database_url)
    out = cli("calendar", "token", "--person", "ben").stdout
    token = out.split("/calendar/")[1].split(".ics")[0]
    shown = cli("calendar", "show", token).stdout
    assert shown.startswith("BEGIN:VCALENDAR")
    assert "revoked" in cli("calendar", "revoke", token).stdout
    assert "calendar" in cli.fails("calendar", "show", token)
    assert cli.json("calendar", "list")[0]["revoked"] is True
