"""Correcting a completed review: its history, the coach's stored findings, what stays required."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from lessonloop.errors import Conflict, Invalid
from lessonloop.reviews.service import revise_review, start_review
from lessonloop.store.history import list_history
from tests.factories import SYSTEM, failure, reviewed, team_with_people


def test_a_completed_review_is_corrected_and_the_change_is_in_its_history(session: Session) -> None:
    team_with_people(session)
    review = reviewed(session, failure(session))
    revise_review(
        session,
        review.id,
        {"root_cause": "No written date was asked for", "gap_type": "context", "held_at": "2026-11-02"},
        viewer=SYSTEM,
    )
    assert review.root_cause == "No written date was asked for" and review.status == "completed"
    assert review.held_at == dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    last = list_history(session, "review", review.id)[-1]
    assert last.actor == "tester" and last.action == "update"
    assert last.changes["root_cause"][1] == "No written date was asked for"
    assert last.changes["gap_type"] == ["process", "context"]


def test_the_coach_runs_again_on_the_corrected_text(session: Session) -> None:
    team_with_people(session)
    review = reviewed(session, failure(session))
    assert review.blame_findings == 0
    revise_review(session, review.id, {"root_cause": "Ben was careless and should have known"}, viewer=SYSTEM)
    session.flush()
    assert review.blame_findings >= 1


def test_a_correction_may_not_empty_what_a_completed_review_needs(session: Session) -> None:
    team_with_people(session)
    review = reviewed(session, failure(session))
    with pytest.raises(Invalid) as err:
        revise_review(session, review.id, {"evidence": "  "}, viewer=SYSTEM)
    assert err.value.field == "evidence"
    review.evidence = "A verbal promise"  # a request's refusal is rolled back; put it back here
    with pytest.raises(Invalid) as err:
        revise_review(session, review.id, {"held_at": None}, viewer=SYSTEM)
    assert err.value.field == "held_at"
    with pytest.raises(Invalid) as err:
        revise_review(session, review.id, {"reviewers": ["ana"]}, viewer=SYSTEM)
    assert err.value.field == "reviewers"


def test_a_held_date_in_the_future_is_refused(session: Session) -> None:
    team_with_people(session)
    review = reviewed(session, failure(session))
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).date().isoformat()
    with pytest.raises(Invalid) as err:
        revise_review(session, review.id, {"held_at": later}, viewer=SYSTEM)
    assert err.value.field == "held_at"


def test_a_draft_review_is_continued_not_corrected(session: Session) -> None:
    team_with_people(session)
    draft = start_review(session, failure(session).id, viewer=SYSTEM)
    with pytest.raises(Conflict):
        revise_review(session, draft.id, {"root_cause": "x"}, viewer=SYSTEM)
