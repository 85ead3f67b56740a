"""Reflection sessions: the service's rules, and the same commands over the API, the CLI and the
pages. Who may do what over every route and visibility is tests/access/test_route_matrix.py's."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from lessonloop.access.viewer import Viewer, viewer_for
from lessonloop.app import create_app
from lessonloop.errors import Conflict, Invalid, NotFound, PermissionDenied
from lessonloop.people.service import add_person, get_person
from lessonloop.reflections import service as reflections
from lessonloop.reflections.schemas import (
    HoldReflection,
    ReflectionNotes,
    RescheduleReflection,
    ScheduleReflection,
)
from lessonloop.store.engine import Database
from lessonloop.worker.models import ReflectionStatus
from tests.api.conftest import API, as_user
from tests.cli import Cli
from tests.factories import SYSTEM, failure, team_with_people
from tests.web.conftest import Browser, seed_people

TODAY = dt.date.today()
SOON = TODAY + dt.timedelta(days=7)


@pytest.fixture(autouse=True)
def _today_as_the_test_runs() -> None:
    """TODAY and SOON as each test starts, not at import: a suite crossing midnight moved them."""
    global TODAY, SOON
    TODAY = dt.date.today()
    SOON = TODAY + dt.timedelta(days=7)


def _failure(db: Database, visibility: str = "team") -> int:
    """A team failure of Payments (ana lead, ben member) reported by ben."""
    with db.unit() as s:
        team_with_people(s)
        add_person(s, name="Olga Outsider", handle="olga", viewer=SYSTEM)
        return failure(s, team="Payments", visibility=visibility, reporter="ben", severity="high").id


def _viewer(db: Database, handle: str) -> Viewer:
    with db.unit() as s:
        return viewer_for(s, get_person(s, handle, viewer=SYSTEM))


def test_a_lead_schedules_and_the_session_is_listed_to_who_sees_the_failure(db: Database) -> None:
    fid = _failure(db, "private")
    ana, ben, olga = (_viewer(db, h) for h in ("ana", "ben", "olga"))
    with db.unit() as s:
        row = reflections.schedule(s, fid, ScheduleReflection(scheduled_for=SOON), viewer=ana)
        assert row.facilitator_id == ana.person_id and row.status == ReflectionStatus.proposed.value
        rid = row.id
    with db.unit() as s:
        assert [r.reflection.id for r in reflections.list_reflections(s, viewer=ben)] == [rid]
        assert reflections.list_reflections(s, viewer=olga) == []
        with pytest.raises(NotFound):
            reflections.get_reflection(s, rid, viewer=olga)


def test_only_leads_admins_and_the_facilitator_run_it(db: Database) -> None:
    fid = _failure(db)
    ana, ben = _viewer(db, "ana"), _viewer(db, "ben")
    with db.unit() as s, pytest.raises(PermissionDenied):
        reflections.schedule(s, fid, ScheduleReflection(scheduled_for=SOON), viewer=ben)
    with db.unit() as s:
        rid = reflections.schedule(
            s, fid, ScheduleReflection(scheduled_for=SOON, facilitator="ben"), viewer=ana
        ).id
    with db.unit() as s:  # ben facilitates now: he may move it
        later = SOON + dt.timedelta(days=2)
        assert (
            reflections.reschedule(
                s, rid, RescheduleReflection(scheduled_for=later), viewer=ben
            ).scheduled_for
            == later
        )


def test_one_session_per_failure_and_never_in_the_past(db: Database) -> None:
    fid = _failure(db)
    ana = _viewer(db, "ana")
    with db.unit() as s, pytest.raises(Invalid) as past:
        reflections.schedule(
            s, fid, ScheduleReflection(scheduled_for=TODAY - dt.timedelta(days=1)), viewer=ana
        )
    assert past.value.field == "scheduled_for"
    with db.unit() as s:
        reflections.schedule(s, fid, ScheduleReflection(scheduled_for=SOON), viewer=ana)
    with db.unit() as s, pytest.raises(Conflict):
        reflections.schedule(s, fid, ScheduleReflection(scheduled_for=SOON), viewer=ana)


def test_a_facilitator_must_see_the_failure(db: Database) -> None:
    fid = _failure(db, "private")
    with db.unit() as s, pytest.raises(Invalid) as refused:
        reflections.schedule(
            s, fid, ScheduleReflection(scheduled_for=SOON, facilitator="olga"), viewer=SYSTEM
        )
    assert refused.value.field == "facilitator"


def test_held_keeps_its_date_and_its_notes_can_still_be_written(db: Database) -> None:
    fid = _failure(db)
    ana = _viewer(db, "ana")
    now = dt.datetime(2026, 5, 4, 12, tzinfo=dt.UTC)
    with db.unit() as s:
        rid = reflections.schedule(s, fid, ScheduleReflection(scheduled_for=SOON), viewer=ana).id
        row = reflections.mark_held(
            s, rid, HoldReflection(notes=" Date every dependency "), now=now, viewer=ana
        )
        assert (row.status, row.held_at, row.notes) == ("held", now, "Date every dependency")
    with db.unit() as s, pytest.raises(Conflict):
        reflections.reschedule(s, rid, RescheduleReflection(scheduled_for=SOON), viewer=ana)
    with db.unit() as s:
        assert (
            reflections.set_notes(s, rid, ReflectionNotes(notes="And check in May"), viewer=ana).notes
            == "And check in May"
        )


# -- the adapters ---------------------------------------------------------------------------------


def test_api_schedule_move_hold_and_notes(db: Database) -> None:
    fid = _failure(db)
    lead, member = as_user(db, "ana"), as_user(db, "ben")
    with TestClient(create_app(database=db)) as client:
        made = client.post(f"{API}/failures/{fid}/reflection", json={"scheduled_for": "+7d"}, headers=lead)
        assert made.status_code == 201, made.text
        rid = made.json()["id"]
        assert made.json()["facilitator"]["handle"] == "ana" and made.json()["may_change"]
        assert (
            client.post(
                f"{API}/failures/{fid}/reflection", json={"scheduled_for": "+7d"}, headers=lead
            ).status_code
            == 409
        )
        refused = client.post(
            f"{API}/reflections/{rid}/reschedule", json={"scheduled_for": "+9d"}, headers=member
        )
        assert refused.status_code == 403
        moved = client.post(
            f"{API}/reflections/{rid}/reschedule", json={"scheduled_for": "+9d"}, headers=lead
        )
        assert moved.json()["scheduled_for"] == (TODAY + dt.timedelta(days=9)).isoformat()
        assert client.post(f"{API}/reflections/{rid}/held", headers=lead).json()["status"] == "held"
        noted = client.put(f"{API}/reflections/{rid}/notes", json={"notes": "Agreed"}, headers=lead)
        assert noted.json()["notes"] == "Agreed"
        listed = client.get(f"{API}/reflections", params={"status": "held"}, headers=member).json()
        assert [(r["id"], r["may_change"]) for r in listed] == [(rid, False)]


def test_cli_schedule_move_hold_notes_and_list(sqlite_db: Database) -> None:
    fid = _failure(sqlite_db)
    cli = Cli(sqlite_db.settings.database_url)
    assert (
        "planned for" in cli("reflection", "schedule", str(fid), "--on", "+7d", "--facilitator", "ana").stdout
    )
    [row] = cli.json("reflection", "list")
    rid = str(row["id"])
    assert row["facilitator"] == "ana"
    assert "in the past" in cli.fails("reflection", "reschedule", rid, "--on", "2020-01-01")
    assert "moved to" in cli("reflection", "reschedule", rid, "--on", "+8d").stdout
    assert "held" in cli("reflection", "held", rid, "--notes", "Agreed on dated commitments").stdout
    assert "notes saved" in cli("reflection", "notes", rid, "Follow up in May").stdout
    [row] = cli.json("reflection", "list", "--status", "held")
    assert row["notes"] == "Follow up in May" and row["held_at"]


def test_pages_link_schedule_and_run_a_session(sqlite_db: Database) -> None:
    seed_people(sqlite_db)
    with sqlite_db.unit() as s:
        fid = failure(s, team="Payments", reporter="ben", severity="high").id
    with TestClient(create_app(database=sqlite_db)) as client:
        web = Browser(client)
        assert web.login("ben").status_code == 303
        assert f'href="/failures/{fid}/reflection"' in web.get(f"/failures/{fid}").text
        assert "No reflection session is planned" in web.get(f"/failures/{fid}/reflection").text
        client.cookies.clear()
        assert web.login("ana").status_code == 303
        form = f"/failures/{fid}/reflection"
        past = web.post(form, {"scheduled_for": "2020-01-01"}, form_page=form)
        assert past.status_code == 422 and "is in the past" in past.text
        made = web.post(form, {"scheduled_for": SOON.isoformat()}, form_page=form, follow_redirects=False)
        assert made.status_code == 303
        page = made.headers["location"]
        assert web.get(form, follow_redirects=False).headers["location"] == page
        assert (
            web.post(f"{page}/notes", {"notes": "Date every dependency"}, form_page=page).status_code == 200
        )
        shown = web.post(f"{page}/held", {}, form_page=page)
        assert "Date every dependency" in shown.text and "status-held" in shown.text
        assert page in web.get("/reflections").text
