"""Moving a reflection session tells the people it is for — its facilitator and the members of the
failure's team who may see the failure, not whoever moved it — in-app and by their channels,
through the outbox, with the text built when it is sent and shown."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from lessonloop.access.viewer import Viewer, viewer_for
from lessonloop.notifications import service as outbox
from lessonloop.notifications.models import Delivery, Notification
from lessonloop.people.service import add_member, add_person, get_person
from lessonloop.reflections import service as reflections
from lessonloop.reflections.schemas import HoldReflection, RescheduleReflection, ScheduleReflection
from lessonloop.store.engine import Database
from tests.factories import SYSTEM, failure, team_with_people

TODAY = dt.date.today()
SOON = TODAY + dt.timedelta(days=7)


@pytest.fixture(autouse=True)
def _today_as_the_test_runs() -> None:
    """TODAY and SOON as each test starts, not at import: a suite crossing midnight moved them."""
    global TODAY, SOON
    TODAY = dt.date.today()
    SOON = TODAY + dt.timedelta(days=7)


def _setup(db: Database, visibility: str) -> int:
    """Payments: ana (lead), ben (member, reporter), cy (member, e-mail on); olga outside."""
    with db.unit() as s:
        team = team_with_people(s)["team"]
        cy = add_person(s, name="Cy Member", handle="cy", email="cy@example.com", viewer=SYSTEM)
        add_member(s, team=team, person=cy, viewer=SYSTEM)
        add_person(s, name="Olga Outsider", handle="olga", viewer=SYSTEM)
        outbox.set_preferences(s, "cy", channels=["email"], viewer=SYSTEM)
        return failure(s, team="Payments", visibility=visibility, reporter="ben", severity="high").id


def _viewer(db: Database, handle: str) -> Viewer:
    with db.unit() as s:
        return viewer_for(s, get_person(s, handle, viewer=SYSTEM))


def _told(db: Database) -> list[tuple[str, str]]:
    with db.unit() as s:
        rows = s.scalars(select(Notification).where(Notification.kind == "reflection-moved"))
        return sorted((n.person.handle, n.subject) for n in rows)


def test_moving_a_session_tells_the_facilitator_and_the_team_not_the_mover(db: Database) -> None:
    fid = _setup(db, "team")
    ana, ben = _viewer(db, "ana"), _viewer(db, "ben")
    with db.unit() as s:
        rid = reflections.schedule(
            s, fid, ScheduleReflection(scheduled_for=SOON, facilitator="ben"), viewer=ana
        ).id
    assert _told(db) == []  # planning it is the worker's invitation's job, not a move
    later = SOON + dt.timedelta(days=3)
    with db.unit() as s:
        reflections.reschedule(s, rid, RescheduleReflection(scheduled_for=later), viewer=ana)
    subject = f"Reflection session on failure #{fid} moved to {later.isoformat()} (in 10 days)"
    assert _told(db) == [("ben", subject), ("cy", subject)]  # not ana, who moved it; not olga
    with db.unit() as s:  # cy chose e-mail too: a delivery waits in the outbox
        assert [d.target for d in s.scalars(select(Delivery))] == ["cy@example.com"]
        (notice,) = s.scalars(select(Notification).where(Notification.person.has(handle="ben")))
        assert notice.record_id == rid and "/reflections/" in notice.body_text

    # Ben (the facilitator) moves it again: ana and cy hear of it; the first notice now says the
    # new date too, since its text is built when it is shown.
    again = later + dt.timedelta(days=1)
    with db.unit() as s:
        reflections.reschedule(s, rid, RescheduleReflection(scheduled_for=again), viewer=ben)
    with db.unit() as s:
        shown = outbox.current_for_person(s, "cy", viewer=SYSTEM)
        assert [x.subject for x in shown] == [
            f"Reflection session on failure #{fid} moved to {again.isoformat()} (in 11 days)"
        ] * 2
    with db.unit() as s:  # held: every notice about it is no longer needed
        reflections.mark_held(s, rid, HoldReflection(), viewer=ben)
    with db.unit() as s:
        shown = outbox.current_for_person(s, "cy", viewer=SYSTEM)
        assert {x.obsolete for x in shown} == {f"the reflection session on failure #{fid} was held"}


def test_a_move_to_the_same_date_tells_nobody(db: Database) -> None:
    fid = _setup(db, "team")
    ana = _viewer(db, "ana")
    with db.unit() as s:
        rid = reflections.schedule(s, fid, ScheduleReflection(scheduled_for=SOON), viewer=ana).id
    with db.unit() as s:
        reflections.reschedule(s, rid, RescheduleReflection(scheduled_for=SOON), viewer=ana)
    assert _told(db) == []


def test_a_team_member_who_may_not_see_the_failure_is_not_told(db: Database) -> None:
    fid = _setup(db, "private")  # seen by its reporter ben (and leads), not by cy
    ana = _viewer(db, "ana")
    with db.unit() as s:
        rid = reflections.schedule(s, fid, ScheduleReflection(scheduled_for=SOON), viewer=ana).id
    with db.unit() as s:
        reflections.reschedule(
            s, rid, RescheduleReflection(scheduled_for=SOON + dt.timedelta(days=1)), viewer=SYSTEM
        )
    assert [handle for handle, _ in _told(db)] == ["ana", "ben"]  # a system move tells ana too
