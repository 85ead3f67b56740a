"""Versioned checklists: full text per version, diffs, and the failures that shaped them."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from lessonloop.errors import Conflict, Invalid, NotFound
from lessonloop.failures.service import delete_failure
from lessonloop.followthrough import checklists
from lessonloop.followthrough.changes import changed_because
from lessonloop.followthrough.guardrails import add_guardrail
from lessonloop.lessons.service import create_lesson
from tests import factories
from tests.factories import SYSTEM


def _kickoff(session: Session) -> checklists.Checklist:
    return checklists.create_checklist(
        session, name="Kickoff", items=["Name an owner", "Agree the scope"], author="ana", viewer=SYSTEM
    )


def test_versions_keep_full_text_author_reason_and_failure(session: Session) -> None:
    factories.team_with_people(session)
    failure = factories.failure(session, team="Payments")
    lesson = create_lesson(
        session, title="Date dependencies", learned="Verbal dates slip", failures=[failure.id], viewer=SYSTEM
    )
    kickoff = _kickoff(session)
    assert kickoff.latest.version == 1 and kickoff.latest.failure_id is None

    rev = checklists.revise_checklist(
        session,
        "kickoff",  # names are case-insensitive
        items=["Name an owner", "Agree the scope", "Get a written date for every dependency"],
        reason="Vendor slipped on a verbal date",
        failure_id=failure.id,
        lesson_id=lesson.id,
        author="ben",
        viewer=SYSTEM,
    )
    assert (rev.version, rev.failure_id, rev.failure_ref, rev.lesson_id) == (
        2,
        failure.id,
        failure.id,
        lesson.id,
    )
    assert rev.author is not None and rev.author.handle == "ben"

    v1 = checklists.get_revision(session, "Kickoff", 1, viewer=SYSTEM)
    assert v1.items == ["Name an owner", "Agree the scope"] and v1.reason == "first version"
    assert checklists.get_revision(session, "Kickoff", viewer=SYSTEM).version == 2
    out = checklists.revision_out(session, rev, viewer=SYSTEM)
    assert out.failure_title == failure.title and out.lesson_title == "Date dependencies"
    assert [r.version for r in checklists.checklist_history(session, "Kickoff", viewer=SYSTEM)] == [1, 2]


def test_diff_between_any_two_versions(session: Session) -> None:
    factories.team_with_people(session)
    f1 = factories.failure(session, title="Vendor slipped")
    f2 = factories.failure(session, title="Scope crept")
    _kickoff(session)
    checklists.revise_checklist(
        session,
        "Kickoff",
        items=["Name an owner", "Agree the scope", "Date every dependency"],
        reason="r1",
        failure_id=f1.id,
        viewer=SYSTEM,
    )
    checklists.revise_checklist(
        session,
        "Kickoff",
        items=["Name one owner", "Agree the scope in writing", "Date every dependency"],
        reason="r2",
        failure_id=f2.id,
        viewer=SYSTEM,
    )
    diff = checklists.diff_versions(session, "Kickoff", 1, 3, viewer=SYSTEM)
    lines = diff.splitlines()
    assert lines[0] == "--- Kickoff v1" and lines[1] == "+++ Kickoff v3"
    assert "-Name an owner" in lines and "+Name one owner" in lines
    assert "+Date every dependency" in lines
    assert checklists.diff_versions(session, "Kickoff", 2, 2, viewer=SYSTEM) == ""
    back = checklists.diff_versions(session, "Kickoff", 3, 1, viewer=SYSTEM)
    assert "+Name an owner" in back.splitlines()
    with pytest.raises(NotFound, match="no version 9"):
        checklists.diff_versions(session, "Kickoff", 1, 9, viewer=SYSTEM)


def test_changed_because_of_a_failure_and_failures_that_shaped_a_checklist(session: Session) -> None:
    factories.team_with_people(session)
    f1 = factories.failure(session, title="Vendor slipped")
    f2 = factories.failure(session, title="Scope crept")
    _kickoff(session)
    checklists.create_checklist(
        session, name="Go/no-go", kind="decision-criteria", items=["Error budget left"], viewer=SYSTEM
    )
    checklists.revise_checklist(
        session, "Kickoff", items=["a", "b"], reason="r1", failure_id=f1.id, viewer=SYSTEM
    )
    checklists.revise_checklist(
        session,
        "Go/no-go",
        items=["Error budget left", "Rollback tested"],
        reason="r2",
        failure_id=f1.id,
        viewer=SYSTEM,
    )
    checklists.revise_checklist(
        session, "Kickoff", items=["a", "b", "c"], reason="r3", failure_id=f2.id, viewer=SYSTEM
    )
    add_guardrail(
        session,
        title="No Friday deploys",
        owner="ana",
        expires_on="+14d",
        rollback_plan="Lift it",
        failure_id=f1.id,
        viewer=SYSTEM,
    )

    because = [
        (r.checklist.name, r.version) for r in checklists.revisions_because_of(session, f1.id, viewer=SYSTEM)
    ]
    assert sorted(because) == [("Go/no-go", 2), ("Kickoff", 2)]
    assert checklists.shaping_failures(session, "Kickoff", viewer=SYSTEM) == [f1.id, f2.id]
    summary = changed_because(session, f1.id, viewer=SYSTEM)
    assert len(summary.revisions) == 2 and [g.title for g in summary.guardrails] == ["No Friday deploys"]
    assert (
        checklists.checklist_out(
            session, checklists.get_checklist(session, "Go/no-go", viewer=SYSTEM), viewer=SYSTEM
        ).kind
        == "decision-criteria"
    )

    # The revision remembers the failure's number even once the failure is gone.
    delete_failure(session, f2.id, viewer=SYSTEM)
    session.flush()
    session.expire_all()
    revs = checklists.revisions_because_of(session, f2.id, viewer=SYSTEM)
    assert [(r.version, r.failure_id, r.failure_ref) for r in revs] == [(3, None, f2.id)]
    assert checklists.shaping_failures(session, "Kickoff", viewer=SYSTEM) == [f1.id, f2.id]


def test_a_revision_without_a_prompting_failure_is_refused(session: Session) -> None:
    factories.team_with_people(session)
    failure = factories.failure(session)
    _kickoff(session)
    with pytest.raises(Invalid, match="failure that prompted it"):
        checklists.revise_checklist(
            session, "Kickoff", items=["x"], reason="tidy up", failure_id=None, viewer=SYSTEM
        )
    with pytest.raises(Invalid, match="reason"):
        checklists.revise_checklist(
            session, "Kickoff", items=["x"], reason=" ", failure_id=failure.id, viewer=SYSTEM
        )
    with pytest.raises(NotFound):
        checklists.revise_checklist(
            session, "Kickoff", items=["x"], reason="r", failure_id=999, viewer=SYSTEM
        )
    with pytest.raises(Conflict, match="same as version 1"):
        checklists.revise_checklist(
            session,
            "Kickoff",
            items=[" Name  an owner", "Agree the scope"],
            reason="r",
            failure_id=failure.id,
            viewer=SYSTEM,
        )
    assert checklists.get_checklist(session, "Kickoff", viewer=SYSTEM).latest.version == 1


def test_bad_input(session: Session) -> None:
    with pytest.raises(NotFound, match="author"):
        _kickoff(session)
    factories.team_with_people(session)
    _kickoff(session)
    with pytest.raises(Conflict):
        _kickoff(session)
    with pytest.raises(Invalid, match="at least one item"):
        checklists.create_checklist(session, name="Empty", items=["  "], viewer=SYSTEM)
    with pytest.raises(Invalid, match="kind"):
        checklists.create_checklist(session, name="Odd", items=["a"], kind="recipe", viewer=SYSTEM)
    with pytest.raises(NotFound):
        checklists.get_checklist(session, "Nope", viewer=SYSTEM)
