"""Recognition for learning and correction, listed and counted."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from lessonloop.errors import Invalid
from lessonloop.followthrough import recognition as rec
from lessonloop.people.service import add_member, add_person, add_team
from tests import factories


def test_record_list_and_count(session: Session) -> None:
    people = factories.team_with_people(session)
    search = add_team(session, name="Search")
    cy = add_person(session, name="Cy Park", handle="cy")
    add_member(session, team=search, person=cy)
    failure = factories.failure(session, team="Payments")

    old = rec.recognise(session, person="ben", kind="win", by="ana", at="2030-01-01T10:00:00Z")
    assert old.team_id == people["team"].id  # the person's only team
    rec.recognise(
        session,
        person="ben",
        kind="candid-review",
        by="ana",
        failure_id=failure.id,
        note="Said plainly that the check was skipped",
        at="2030-02-01T10:00:00Z",
    )
    rec.recognise(session, person="ana", kind="validated-fix", team="Payments", at="2030-02-02T10:00:00Z")
    rec.recognise(session, person="cy", kind="shared-lesson", at="2030-02-03T10:00:00Z")

    payments = rec.list_recognitions(session, team="Payments")
    assert [r.kind for r in payments] == ["validated-fix", "candid-review", "win"]  # newest first
    assert [r.kind for r in rec.list_recognitions(session, person="ben")] == ["candid-review", "win"]
    assert [r.person.handle for r in rec.list_recognitions(session, team="Search")] == ["cy"]

    everything = rec.recognition_counts(session)
    assert everything["total"] == 4
    assert everything["by_kind"] == {"candid-review": 1, "validated-fix": 1, "shared-lesson": 1, "win": 1}
    assert everything["by_person"] == {"ben": 2, "ana": 1, "cy": 1}
    team = rec.recognition_counts(session, team_id=people["team"].id, since=dt.date(2030, 1, 15))
    assert team["total"] == 2 and team["by_kind"]["win"] == 0 and team["by_kind"]["candid-review"] == 1
    assert rec.recognition_out(payments[1]).failure_id == failure.id


def test_refusals(session: Session) -> None:
    factories.team_with_people(session)
    with pytest.raises(Invalid, match="kind"):
        rec.recognise(session, person="ben", kind="heroics")
    with pytest.raises(Invalid, match="someone else"):
        rec.recognise(session, person="ben", kind="win", by="ben")
