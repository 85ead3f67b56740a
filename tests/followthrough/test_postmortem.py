"""The post-mortem document has every section, in Markdown and printable HTML, escaped."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session

from lessonloop.errors import Invalid, NotFound
from lessonloop.experiments.service import add_experiment, record_observation
from lessonloop.followthrough import postmortem
from lessonloop.followthrough.checklists import create_checklist, revise_checklist
from lessonloop.followthrough.guardrails import add_guardrail
from lessonloop.lessons.service import create_lesson
from lessonloop.reviews.service import primary_action
from tests import factories
from tests.factories import SYSTEM

TITLE = "Checkout <img src=x onerror=alert(1)> missed launch"


def _reviewed(session: Session) -> int:
    factories.team_with_people(session)
    failure = factories.failure(
        session,
        title=TITLE,
        team="Payments",
        impact="Two weeks of promo lost",
        occurred_at="2026-01-02T08:00:00Z",
        detected_at="2026-01-03T09:00:00Z",
    )
    review = factories.reviewed(
        session, failure, held_at="2026-01-05T10:00:00Z"
    )  # a review is never held in the future
    action = primary_action(session, review, viewer=SYSTEM)
    assert action is not None
    experiment = add_experiment(
        session,
        action_id=action.id,
        hypothesis="Dated checks catch slips early",
        metric="slipped deps",
        comparator="<=",
        threshold=1,
        start_date="2030-01-10",
        end_date="2030-04-10",
        viewer=SYSTEM,
    )
    record_observation(session, experiment.id, value=0, viewer=SYSTEM)
    create_lesson(
        session,
        title="Date every dependency",
        learned="Verbal dates slip silently",
        failures=[failure.id],
        audience=["Payments"],
        publish=True,
        viewer=SYSTEM,
    )
    create_checklist(session, name="Kickoff", items=["Name an owner"], viewer=SYSTEM)
    revise_checklist(
        session,
        "Kickoff",
        items=["Name an owner", "Date every dependency"],
        reason="Vendor slipped",
        failure_id=failure.id,
        viewer=SYSTEM,
    )
    add_guardrail(
        session,
        title="Second approver on vendor dates",
        owner="ana",
        expires_on="+30d",
        rollback_plan="Drop the second approver",
        failure_id=failure.id,
        viewer=SYSTEM,
    )
    return failure.id


def test_markdown_has_every_section(session: Session) -> None:
    failure_id = _reviewed(session)
    doc = postmortem.export_postmortem(session, failure_id, fmt="md", viewer=SYSTEM)
    positions = [doc.index(f"## {name}\n") for name in postmortem.SECTIONS]
    assert positions == sorted(positions)
    for expected in [
        "Two weeks of promo lost",
        "| Occurred |",
        "| Detected |",
        "| Review held |",
        "The vendor API would be ready by sprint 3",  # the three diagnostic answers
        "A verbal promise in a call; no written date",
        "The vendor re-planned after a reorg",
        "External dependency with no agreed date or fallback",
        "**process**",
        "Add a dated dependency check to the kickoff checklist",
        "Ben Member",
        "verdict: passed",
        "Date every dependency",
        "Kickoff v2: Vendor slipped",
        "Second approver on vendor dates",
    ]:
        assert expected in doc, expected
    assert re.search(r"(?<!\\)<img", doc) is None and "\\<img src=x onerror=alert(1)\\>" in doc


def test_html_is_printable_and_escaped(session: Session) -> None:
    failure_id = _reviewed(session)
    doc = postmortem.export_postmortem(session, failure_id, fmt="html", viewer=SYSTEM)
    assert doc.startswith("<!DOCTYPE html>") and "@media print" in doc and "@page" in doc
    for name in postmortem.SECTIONS:
        assert f"<h2>{name}</h2>" in doc
    assert "<img" not in doc and "&lt;img src=x onerror=alert(1)&gt;" in doc
    assert "verdict: passed" in doc and "Ben Member" in doc and "Verbal dates slip silently" in doc


def test_an_unreviewed_failure_still_has_every_section(session: Session) -> None:
    failure = factories.failure(session)
    doc = postmortem.export_postmortem(session, failure.id, viewer=SYSTEM)
    assert all(f"## {name}" in doc for name in postmortem.SECTIONS)
    assert "Not recorded yet." in doc and "No actions yet." in doc
    with pytest.raises(Invalid):
        postmortem.export_postmortem(session, failure.id, fmt="pdf", viewer=SYSTEM)
    with pytest.raises(NotFound):
        postmortem.export_postmortem(session, 999, viewer=SYSTEM)
