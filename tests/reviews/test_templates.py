"""Review templates per failure kind: defaults, an admin's override, and the extra answers."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from lessonloop.access.viewer import Viewer, viewer_for
from lessonloop.accounts.service import create_account
from lessonloop.errors import Invalid, NotFound, PermissionDenied
from lessonloop.failures.models import FailureKind
from lessonloop.reviews.questions import DEFAULT_QUESTIONS
from lessonloop.reviews.service import complete_review, start_review, update_review
from lessonloop.reviews.templates import (
    answered_questions,
    get_template,
    list_templates,
    reset_template,
    set_template,
)
from lessonloop.store.history import list_history
from tests.factories import ANSWERS, SYSTEM, failure, reviewed, team_with_people

WHYS = {"key": "whys", "label": "Five whys", "type": "list", "max_items": 3}


def _admin(session: Session) -> Viewer:
    people = team_with_people(session)
    create_account(session, people["ana"].handle, password="correct horse battery", admin=True, viewer=SYSTEM)
    return viewer_for(session, people["ana"])


def test_every_kind_has_a_default_template(session: Session) -> None:
    templates = list_templates(session, viewer=SYSTEM)
    assert [t.kind for t in templates] == [k.value for k in FailureKind]
    assert all(t.questions and not t.customized for t in templates)
    missed = get_template(session, "missed-deadline", viewer=SYSTEM)
    assert [q["type"] for q in missed.questions] == ["timeline", "text", "list"]
    assert missed.questions == DEFAULT_QUESTIONS["missed-deadline"]


def test_unknown_kind_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound):
        get_template(session, "launch-party", viewer=SYSTEM)


def test_an_admins_edit_overrides_the_default_for_that_kind_only(session: Session) -> None:
    admin = _admin(session)
    saved = set_template(
        session, "missed-deadline", [WHYS, {"label": "What did the customer see?"}], viewer=admin
    )
    assert saved.customized
    assert [q["key"] for q in saved.questions] == ["whys", "what_did_the_customer_see"]
    assert get_template(session, "missed-deadline", viewer=SYSTEM).questions == saved.questions
    assert not get_template(session, "skipped-check", viewer=SYSTEM).customized
    history = list_history(session, "review_template", 1)
    assert history and history[0].action == "create"
    back = reset_template(session, "missed-deadline", viewer=admin)
    assert not back.customized and back.questions == DEFAULT_QUESTIONS["missed-deadline"]


def test_a_member_may_read_but_not_change_a_template(session: Session) -> None:
    people = team_with_people(session)
    member = viewer_for(session, people["ben"])
    assert get_template(session, "other", viewer=member).questions
    with pytest.raises(PermissionDenied):
        set_template(session, "other", [WHYS], viewer=member)
    with pytest.raises(PermissionDenied):
        reset_template(session, "other", viewer=member)


def test_two_questions_may_not_share_a_key(session: Session) -> None:
    with pytest.raises(Invalid) as err:
        set_template(session, "other", [WHYS, {**WHYS, "label": "Again"}], viewer=SYSTEM)
    assert err.value.field == "questions.1.key"


def test_extra_answers_are_checked_against_the_kinds_template(session: Session) -> None:
    team_with_people(session)
    set_template(
        session,
        "missed-deadline",
        [
            WHYS,
            {"key": "timeline", "label": "Timeline", "type": "timeline"},
            {"key": "note", "label": "Note"},
        ],
        viewer=SYSTEM,
    )
    review = start_review(session, failure(session).id, viewer=SYSTEM)
    update_review(
        session,
        review.id,
        {
            "extra_answers": {
                "whys": ["No date", "Nobody asked", ""],
                "timeline": [{"time": "Mon 09:00", "text": "Vendor slipped"}, "Tue | We heard"],
                "note": "  short  ",
            }
        },
        viewer=SYSTEM,
    )
    assert review.extra_answers == {
        "whys": ["No date", "Nobody asked"],
        "timeline": [{"time": "Mon 09:00", "text": "Vendor slipped"}, {"time": "Tue", "text": "We heard"}],
        "note": "short",
    }
    update_review(session, review.id, {"extra_answers": {"note": ""}}, viewer=SYSTEM)
    assert set(review.extra_answers) == {"whys", "timeline"}  # only the keys sent change
    with pytest.raises(Invalid) as err:
        update_review(session, review.id, {"extra_answers": {"whys": ["1", "2", "3", "4"]}}, viewer=SYSTEM)
    assert err.value.field == "extra_answers.whys" and "at most 3" in err.value.message
    with pytest.raises(Invalid) as err:
        update_review(session, review.id, {"extra_answers": {"mood": "fine"}}, viewer=SYSTEM)
    assert err.value.field == "extra_answers.mood"


def test_a_required_extra_question_is_needed_to_complete(session: Session) -> None:
    team_with_people(session)
    set_template(session, "missed-deadline", [{**WHYS, "required": True}], viewer=SYSTEM)
    f = failure(session)
    with pytest.raises(Invalid) as err:
        reviewed(session, f)
    assert err.value.field == "extra_answers.whys"
    review = reviewed(session, failure(session), extra_answers={"whys": ["No dated commitment"]})
    assert review.status == "completed"


def test_extra_questions_stay_optional_unless_required(session: Session) -> None:
    team_with_people(session)
    review = reviewed(session, failure(session))  # the default template asks, nothing required
    assert review.status == "completed" and review.extra_answers == {}


def test_answers_of_a_removed_question_are_kept_under_their_key(session: Session) -> None:
    team_with_people(session)
    set_template(session, "missed-deadline", [WHYS], viewer=SYSTEM)
    review = reviewed(session, failure(session), extra_answers={"whys": ["No date"]})
    set_template(session, "missed-deadline", [{"key": "note", "label": "Note"}], viewer=SYSTEM)
    pairs = answered_questions(session, review, viewer=SYSTEM)
    assert [(q["label"], a) for q, a in pairs] == [("Note", None), ("Whys", ["No date"])]


def test_the_core_questions_stay_mandatory(session: Session) -> None:
    team_with_people(session)
    set_template(session, "missed-deadline", [], viewer=SYSTEM)
    review = start_review(session, failure(session).id, viewer=SYSTEM)
    update_review(session, review.id, {k: v for k, v in ANSWERS.items() if k != "evidence"}, viewer=SYSTEM)
    with pytest.raises(Invalid) as err:
        complete_review(session, review.id, viewer=SYSTEM)
    assert err.value.field == "evidence"
