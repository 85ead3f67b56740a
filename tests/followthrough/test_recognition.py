"""Recognition for learning and correction, listed and counted."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from lessonloop.access.viewer import viewer_for
from lessonloop.actions.models import Action
from lessonloop.errors import Invalid
from lessonloop.experiments.service import add_experiment
from lessonloop.followthrough import recognition as rec
from lessonloop.lessons.service import create_lesson
from lessonloop.people.models import Person
from lessonloop.people.service import add_member, add_person, add_team
from tests import factories
from tests.factories import SYSTEM


def test_record_list_and_count(session: Session) -> None:
    people = factories.team_with_people(session)
    search = add_team(session, name="Search", viewer=SYSTEM)
    cy = add_person(session, name="Cy Park", handle="cy", viewer=SYSTEM)
    add_member(session, team=search, person=cy, viewer=SYSTEM)
    failure = factories.failure(session, team="Payments")

    old = rec.recognise(session, person="ben", kind="win", by="ana", at="2030-01-01T10:00:00Z", viewer=SYSTEM)
    assert old.team_id == people["team"].id  # the person's only team
    rec.recognise(
        session,
        person="ben",
        kind="candid-review",
        by="ana",
        failure_id=failure.id,
        note="Said plainly that the check was skipped",
        at="2030-02-01T10:00:00Z",
        viewer=SYSTEM,
    )
    rec.recognise(
        session, person="ana", kind="validated-fix", team="Payments", at="2030-02-02T10:00:00Z", viewer=SYSTEM
    )
    rec.recognise(session, person="cy", kind="shared-lesson", at="2030-02-03T10:00:00Z", viewer=SYSTEM)

    payments = rec.list_recognitions(session, team="Payments", viewer=SYSTEM)
    assert [r.kind for r in payments] == ["validated-fix", "candid-review", "win"]  # newest first
    assert [r.kind for r in rec.list_recognitions(session, person="ben", viewer=SYSTEM)] == [
        "candid-review",
        "win",
    ]
    assert [r.person.handle for r in rec.list_recognitions(session, team="Search", viewer=SYSTEM)] == ["cy"]

    everything = rec.recognition_counts(session, viewer=SYSTEM)
    assert everything["total"] == 4
    assert everything["by_kind"] == {"candid-review": 1, "validated-fix": 1, "shared-lesson": 1, "win": 1}
    assert everything["by_person"] == {"ben": 2, "ana": 1, "cy": 1}
    team = rec.recognition_counts(
        session, team_id=people["team"].id, since=dt.date(2030, 1, 15), viewer=SYSTEM
    )
    assert team["total"] == 2 and team["by_kind"]["win"] == 0 and team["by_kind"]["candid-review"] == 1
    assert rec.recognition_out(payments[1]).failure_id == failure.id


def test_refusals(session: Session) -> None:
    factories.team_with_people(session)
    with pytest.raises(Invalid, match="kind"):
        rec.recognise(session, person="ben", kind="heroics", viewer=SYSTEM)
    with pytest.raises(Invalid, match="someone else"):
        rec.recognise(session, person="ben", kind="win", by="ben", viewer=SYSTEM)


def test_counts_and_list_hide_recognition_linked_to_what_the_viewer_cannot_see(session: Session) -> None:
    """A viewer counts recognition only when each of its links (failure, lesson, experiment) is
    visible to them; unlinked recognition always counts."""

    factories.team_with_people(session)
    search = add_team(session, name="Search", viewer=SYSTEM)
    cy = add_person(session, name="Cy Park", handle="cy", viewer=SYSTEM)
    add_member(session, team=search, person=cy, viewer=SYSTEM)
    seen = factories.failure(session, team="Search", title="Search index rebuild ran out of disk")
    hidden = factories.failure(session, team="Payments", title="Refund batch doubled", visibility="team")
    open_to_all = factories.failure(session, team="Payments", title="Status page stale", visibility="org")
    factories.reviewed(session, hidden)
    factories.reviewed(session, seen, owner="cy")
    session.flush()

    def experiment(failure_id: int) -> int:
        action_id = session.scalar(
            select(Action.id).where(Action.failure_id == failure_id, Action.is_primary.is_(True))
        )
        return add_experiment(
            session,
            action_id=int(action_id or 0),
            hypothesis="Fewer misses",
            metric="misses",
            comparator="<=",
            threshold=1,
            start_date="2030-01-01",
            end_date="2030-02-01",
            viewer=SYSTEM,
        ).id

    hidden_lesson = create_lesson(
        session, title="Refunds", learned="Idempotency keys", failures=[hidden.id], viewer=SYSTEM
    )
    for kind, links in [
        ("win", {}),
        ("candid-review", {"failure_id": seen.id}),
        ("candid-review", {"failure_id": hidden.id}),
        ("candid-review", {"failure_id": open_to_all.id}),
        ("shared-lesson", {"lesson_id": hidden_lesson.id}),
        ("validated-fix", {"experiment_id": experiment(seen.id)}),
        ("validated-fix", {"experiment_id": experiment(hidden.id)}),
    ]:
        rec.recognise(session, person="ben", kind=kind, viewer=SYSTEM, **links)
    session.flush()

    cy_sees = viewer_for(session, cy)
    counts = rec.recognition_counts(session, viewer=cy_sees)
    assert counts["by_kind"] == {"win": 1, "candid-review": 2, "shared-lesson": 0, "validated-fix": 1}
    assert len(rec.list_recognitions(session, viewer=cy_sees)) == 4
    assert rec.recognition_counts(session, viewer=SYSTEM)["total"] == 7  # trusted: everything
    ben = session.scalar(select(Person).where(Person.handle == "ben"))
    assert ben is not None
    # Ben (Payments) sees his team's failures, lesson and experiment, not Search's.
    assert rec.recognition_counts(session, viewer=viewer_for(session, ben))["total"] == 5
