"""Coaching notes and development plans: author and subject only, on both backends."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from lessonloop.access import can_see, viewer_for, visible_notes_clause, visible_plans_clause
from lessonloop.coaching.models import CoachingNote, DevelopmentPlan
from lessonloop.coaching.service import (
    complete_plan,
    delete_note,
    get_note,
    get_plan,
    notes_visible_to,
    plans_visible_to,
    start_plan,
    write_note,
)
from lessonloop.errors import Conflict, Invalid, NotFound, PermissionDenied
from lessonloop.people.models import Person
from lessonloop.people.service import add_member, add_person, add_team
from lessonloop.reviews.models import Review
from lessonloop.reviews.service import start_review
from lessonloop.store.history import HistoryEntry
from tests.access.world import make_admin
from tests.factories import SYSTEM, failure, reviewed

BODY = "Ben rushed the release checklist twice this month; pair with him on the next two releases."


@pytest.fixture
def org(session: Session) -> dict[str, Person]:
    """Payments: ana (lead), ben (member), tia (team-role admin). Search: sam (lead), sue (member).
    root is an org admin in no team."""
    payments, search = (
        add_team(session, name="Payments", viewer=SYSTEM),
        add_team(session, name="Search", viewer=SYSTEM),
    )
    people = {
        h: add_person(session, name=h.title(), handle=h, viewer=SYSTEM)
        for h in ("ana", "ben", "tia", "sam", "sue", "root")
    }
    add_member(session, team=payments, person=people["ana"], role="lead", viewer=SYSTEM)
    add_member(session, team=payments, person=people["ben"], role="member", viewer=SYSTEM)
    add_member(session, team=payments, person=people["tia"], role="admin", viewer=SYSTEM)
    add_member(session, team=search, person=people["sam"], role="lead", viewer=SYSTEM)
    add_member(session, team=search, person=people["sue"], role="member", viewer=SYSTEM)
    make_admin(session, people["root"])
    return people


# -- coaching notes -----------------------------------------------------------------------------

# Who sees a note ana (lead of Payments) wrote about ben (member of Payments).
NOTE_VISIBLE = {
    "ana": True,  # author
    "ben": True,  # subject
    "tia": False,  # team-role admin of the same team
    "sam": False,  # another team's lead
    "sue": False,  # another team's member
    "root": False,  # org admin: refused
}


def test_note_is_seen_by_author_and_subject_only(session: Session, org: dict[str, Person]) -> None:
    note = write_note(session, author="ana", subject="ben", body=BODY, viewer=SYSTEM)
    assert note.team_id is not None and note.author_id == org["ana"].id
    for handle, expected in NOTE_VISIBLE.items():
        viewer = viewer_for(session, org[handle])
        assert can_see(session, viewer, note) is expected, handle
        assert ([n.id for n in notes_visible_to(session, viewer)] == [note.id]) is expected, handle
        sql = session.scalars(select(CoachingNote.id).where(visible_notes_clause(viewer))).all()
        assert (note.id in sql) is expected, handle
        if expected:
            assert get_note(session, viewer, note.id).body == BODY
        else:
            with pytest.raises(NotFound):  # as if it did not exist
                get_note(session, viewer, note.id)


def test_only_a_lead_of_the_subjects_team_may_write_a_note(session: Session, org: dict[str, Person]) -> None:
    for author, subject in (("ben", "ana"), ("tia", "ben"), ("sam", "ben"), ("root", "ben"), ("sue", "sam")):
        with pytest.raises(PermissionDenied) as err:
            write_note(session, author=author, subject=subject, body=BODY, viewer=SYSTEM)
        assert err.value.status_code == 403
        assert "only a lead of a team" in err.value.message
    with pytest.raises(PermissionDenied):
        write_note(session, author="ana", subject="ben", body=BODY, team="Search", viewer=SYSTEM)
    with pytest.raises(Invalid) as invalid:
        write_note(session, author="ana", subject="ana", body=BODY, viewer=SYSTEM)
    assert invalid.value.field == "subject"
    with pytest.raises(Invalid) as empty:
        write_note(session, author="ana", subject="ben", body="  ", viewer=SYSTEM)
    assert empty.value.field == "body"
    assert session.scalars(select(CoachingNote)).all() == []


def test_a_lead_may_note_another_lead_in_the_same_team(session: Session, org: dict[str, Person]) -> None:
    add_member(session, team="Payments", person="sam", role="lead", viewer=SYSTEM)
    assert (
        write_note(session, author="ana", subject="sam", body=BODY, viewer=SYSTEM).subject_id == org["sam"].id
    )


def test_note_text_stays_out_of_history(session: Session, org: dict[str, Person]) -> None:
    note = write_note(session, author="ana", subject="ben", body=BODY, viewer=SYSTEM)
    entries = session.scalars(
        select(HistoryEntry).where(
            HistoryEntry.record_type == "coaching_note", HistoryEntry.record_id == note.id
        )
    ).all()
    assert [e.action for e in entries] == ["create"]
    assert "body" not in entries[0].changes and BODY not in repr(entries[0].changes)


def test_only_the_author_deletes_a_note(session: Session, org: dict[str, Person]) -> None:
    note = write_note(session, author="ana", subject="ben", body=BODY, viewer=SYSTEM)
    with pytest.raises(PermissionDenied):
        delete_note(session, viewer_for(session, org["ben"]), note.id)
    with pytest.raises(NotFound):
        delete_note(session, viewer_for(session, org["root"]), note.id)
    delete_note(session, viewer_for(session, org["ana"]), note.id)
    assert session.scalars(select(CoachingNote)).all() == []


# -- development plans --------------------------------------------------------------------------


def _review(session: Session, gap_type: str, *, visibility: str = "team") -> Review:
    f = failure(session, team="Payments", reporter="ben", people=["ben"], visibility=visibility)
    return reviewed(session, f, owner="ben", gap_type=gap_type, gap_justification="why this gap type")


def _plan(session: Session, review: Review, author: str = "ana") -> DevelopmentPlan:
    return start_plan(
        session,
        author=author,
        review=review.id,
        person="ben",
        goals="Run the release checklist solo, with a buddy check",
        support="Pairing with Ana on two releases; checklist walkthrough",
        review_date="2026-04-01",
        viewer=SYSTEM,
    )


def test_plan_from_a_skill_gap_review(session: Session, org: dict[str, Person]) -> None:
    plan = _plan(session, _review(session, "skill"))
    assert plan.status == "open" and plan.review_date == dt.date(2026, 4, 1)
    assert plan.person_id == org["ben"].id and plan.author_id == org["ana"].id


@pytest.mark.parametrize(
    ("gap_type", "says"),
    [
        ("process", "process gap: that calls for a checklist or guardrail change"),
        ("context", "context gap: that calls for a checklist or guardrail change"),
        ("resourcing", "resourcing gap: that calls for time, budget or people"),
    ],
)
def test_no_plan_from_other_gaps(session: Session, org: dict[str, Person], gap_type: str, says: str) -> None:
    review = _review(session, gap_type)
    with pytest.raises(Conflict) as err:
        _plan(session, review)
    assert err.value.field == "review"
    assert says in err.value.message
    assert "not a development plan" in err.value.message
    assert session.scalars(select(DevelopmentPlan)).all() == []


def test_no_plan_before_the_review_names_a_gap(session: Session, org: dict[str, Person]) -> None:
    review = start_review(session, failure(session, team="Payments", people=["ben"]).id, viewer=SYSTEM)
    with pytest.raises(Conflict, match="no gap type yet"):
        _plan(session, review)


def test_plan_author_and_subject_rules(session: Session, org: dict[str, Person]) -> None:
    review = _review(session, "skill")
    for author in ("sam", "tia", "root"):  # other team's lead, team-role admin, org admin
        with pytest.raises(PermissionDenied):
            _plan(session, review, author=author)
    assert _plan(session, review, author="ben").author_id == org["ben"].id  # a plan for oneself
    with pytest.raises(Invalid) as err:
        start_plan(
            session,
            author="ana",
            review=review.id,
            person="tia",
            goals="g",
            review_date="2026-04-01",
            viewer=SYSTEM,
        )
    assert err.value.field == "person"  # tia was not involved in the failure
    with pytest.raises(Invalid) as err2:
        start_plan(
            session,
            author="ana",
            review=review.id,
            person="ben",
            goals=" ",
            review_date="2026-04-01",
            viewer=SYSTEM,
        )
    assert err2.value.field == "goals"


def test_plan_author_must_see_the_failure(session: Session, org: dict[str, Person]) -> None:
    """A lead of the person's *other* team may not plan from a private failure they cannot see."""
    add_member(session, team="Search", person="ben", role="member", viewer=SYSTEM)
    review = _review(session, "skill", visibility="private")
    with pytest.raises(PermissionDenied, match="may not see failure"):
        _plan(session, review, author="sam")
    assert _plan(session, review, author="ana").id  # the lead of the failure's team may


# Who sees ana's plan for ben.
PLAN_VISIBLE = {"ana": True, "ben": True, "tia": False, "sam": False, "sue": False, "root": False}


def test_plan_is_seen_by_author_and_subject_only(session: Session, org: dict[str, Person]) -> None:
    plan = _plan(session, _review(session, "skill"))
    for handle, expected in PLAN_VISIBLE.items():
        viewer = viewer_for(session, org[handle])
        assert can_see(session, viewer, plan) is expected, handle
        assert ([p.id for p in plans_visible_to(session, viewer)] == [plan.id]) is expected, handle
        sql = session.scalars(select(DevelopmentPlan.id).where(visible_plans_clause(viewer))).all()
        assert (plan.id in sql) is expected, handle
        if not expected:
            with pytest.raises(NotFound):
                get_plan(session, viewer, plan.id)
    entries = session.scalars(
        select(HistoryEntry).where(HistoryEntry.record_type == "development_plan")
    ).all()
    assert entries and all("goals" not in e.changes and "support" not in e.changes for e in entries)


def test_complete_plan(session: Session, org: dict[str, Person]) -> None:
    plan = _plan(session, _review(session, "skill"))
    with pytest.raises(NotFound):
        complete_plan(session, viewer_for(session, org["root"]), plan.id)
    done = complete_plan(
        session, viewer_for(session, org["ben"]), plan.id, now=dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    )
    assert done.status == "done" and done.completed_at == dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    with pytest.raises(Conflict):
        complete_plan(session, viewer_for(session, org["ana"]), plan.id)
    assert plans_visible_to(session, viewer_for(session, org["ana"]), status="open") == []
