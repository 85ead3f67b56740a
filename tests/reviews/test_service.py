from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lessonloop.actions.models import Action
from lessonloop.errors import Conflict, Invalid, NotFound
from lessonloop.reviews.models import Review
from lessonloop.reviews.service import (
    add_review_action,
    complete_review,
    list_assumptions,
    start_review,
    update_review,
)
from lessonloop.store.history import list_history
from tests.factories import ANSWERS, SYSTEM, failure, reviewed, team_with_people


def test_start_review_moves_failure_in_review(session: Session) -> None:
    f = failure(session)
    review = start_review(session, f.id, viewer=SYSTEM)
    assert f.status == "in-review" and review.status == "draft"
    assert (
        start_review(session, f.id, viewer=SYSTEM).id == review.id
    )  # starting again returns the same review


def test_complete_refuses_missing_answers_naming_the_field(session: Session) -> None:
    team_with_people(session)
    f = failure(session)
    review = start_review(session, f.id, viewer=SYSTEM)
    with pytest.raises(Invalid) as err:
        complete_review(session, review.id, viewer=SYSTEM)
    assert err.value.field == "assumption_text"
    update_review(
        session, review.id, {k: v for k, v in ANSWERS.items() if k != "gap_justification"}, viewer=SYSTEM
    )
    with pytest.raises(Invalid) as err:
        complete_review(session, review.id, viewer=SYSTEM)
    assert err.value.field == "gap_justification"
    update_review(session, review.id, {"gap_justification": "No step asked for it"}, viewer=SYSTEM)
    with pytest.raises(Invalid) as err:
        complete_review(session, review.id, viewer=SYSTEM)
    assert err.value.field == "primary_action"


def test_exactly_one_primary_action(session: Session) -> None:
    team_with_people(session)
    f = failure(session)
    review = start_review(session, f.id, viewer=SYSTEM)
    spec = {"title": "Add dated dependency step", "owner": "ben", "due_date": "2026-12-10"}
    add_review_action(session, review.id, spec, primary=True, viewer=SYSTEM)
    with pytest.raises(Conflict):
        add_review_action(session, review.id, spec, primary=True, viewer=SYSTEM)
    add_review_action(session, review.id, {**spec, "title": "Secondary"}, viewer=SYSTEM)
    update_review(session, review.id, ANSWERS, viewer=SYSTEM)
    complete_review(session, review.id, viewer=SYSTEM)
    assert f.status == "acting"


def test_primary_action_needs_an_owner(session: Session) -> None:
    f = failure(session)
    with pytest.raises(Invalid) as err:
        reviewed(session, f, owner="")
    assert err.value.field == "owner"


def test_unknown_owner_is_not_found(session: Session) -> None:
    f = failure(session)
    with pytest.raises(NotFound) as err:
        reviewed(session, f, owner="ghost")
    assert err.value.field == "owner"


def test_gap_type_and_one_line_justification(session: Session) -> None:
    f = failure(session)
    review = start_review(session, f.id, viewer=SYSTEM)
    with pytest.raises(Invalid) as err:
        update_review(session, review.id, {"gap_type": "attitude"}, viewer=SYSTEM)
    assert err.value.field == "gap_type"
    with pytest.raises(Invalid):
        update_review(session, review.id, {"gap_justification": "line one\nline two"}, viewer=SYSTEM)


def test_completed_review_is_frozen(session: Session) -> None:
    team_with_people(session)
    review = reviewed(session, failure(session))
    with pytest.raises(Conflict):
        update_review(session, review.id, {"root_cause": "changed my mind"}, viewer=SYSTEM)
    assert review.completed_at is not None and review.held_at is not None


def test_same_assumption_is_one_record_counted_across_failures(session: Session) -> None:
    team_with_people(session)
    reviewed(session, failure(session), assumptions=["Vendors keep verbal dates"])
    reviewed(session, failure(session, title="Second slip"), assumptions=["vendors keep  verbal dates."])
    rows = list_assumptions(session, viewer=SYSTEM)
    assert len(rows) == 1
    assumption, count = rows[0]
    assert count == 2 and assumption.status == "failed"


def test_review_history_and_default_review_date(session: Session) -> None:
    team_with_people(session)
    review = reviewed(session, failure(session))
    action = session.scalar(select(Action).where(Action.review_id == review.id))
    assert action is not None
    assert action.review_date == action.due_date + dt.timedelta(days=14)
    entries = list_history(session, "review", review.id)
    assert entries[0].action == "create"
    assert entries[-1].changes["status"] == ["draft", "completed"]
    assert any("root_cause" in e.changes for e in entries)


def test_failed_conduct_leaves_nothing(db) -> None:  # type: ignore[no-untyped-def]
    with db.unit() as s:
        team_with_people(s)
        f = failure(s)
        fid = f.id
    with pytest.raises(NotFound), db.unit() as s:
        reviewed(s, s.get(type(f), fid), owner="ghost")
    with db.unit() as s:
        assert s.scalar(select(func.count()).select_from(Review)) == 0
        assert s.get(type(f), fid).status == "observed"
