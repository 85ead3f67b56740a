"""The insights' most-named failed assumptions: a person's counts are read for the most named
candidates first, and the answer is always the whole count's (on SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor
from lessonloop.access.viewer import viewer_for
from lessonloop.people.service import add_member, add_person, add_team
from lessonloop.reviews.service import list_assumptions, record_assumption
from lessonloop.signals import metrics
from tests.factories import SYSTEM, failure, reviewed, team_with_people


def reference(session: Session, viewer: Actor, limit: int) -> list[dict[str, Any]]:
    """Every failed assumption counted over the reviews the viewer may see (the assumptions
    list's own count), the most named first, ties by id."""
    rows = [(a.id, a.statement, n) for a, n in list_assumptions(session, status="failed", viewer=viewer) if n]
    return [{"id": i, "statement": s, "failures": n} for i, s, n in rows[:limit]]


def name(session: Session, statement: str, times: int, **where: Any) -> None:
    for i in range(times):
        f = failure(session, title=f"{statement} ({i})", **where)
        reviewed(session, f, assumptions=[statement])
    record_assumption(session, statement, status="failed", viewer=SYSTEM)


@pytest.fixture
def workspace(session: Session) -> dict[str, Any]:
    people = team_with_people(session)  # Payments: ana (lead), ben (member)
    growth = add_team(session, name="Growth", viewer=SYSTEM)
    gil = add_person(session, name="Gil Lead", handle="gil", viewer=SYSTEM)
    add_member(session, team=growth, person=gil, role="lead", viewer=SYSTEM)
    private = {"team": "Growth", "reporter": "gil", "visibility": "private"}
    # "Vendors keep verbal dates" is the most named overall, but ben sees one of its four reviews
    name(session, "Vendors keep verbal dates", 1, team="Payments")
    name(session, "Vendors keep verbal dates", 3, **private)
    name(session, "The cache is always warm", 3, team="Payments")
    name(session, "Staging matches production", 2, team="Payments")
    name(session, "Nobody reads the runbook", 2, **private)  # ben sees none of these
    name(session, "Held, not failed", 5, team="Payments")
    record_assumption(session, "Held, not failed", status="held", viewer=SYSTEM)
    session.flush()
    return {"ana": people["ana"], "ben": people["ben"], "gil": gil}


@pytest.mark.parametrize("candidates", [1, 2, 3, 100])
@pytest.mark.parametrize("limit", [1, 2, 3, 10])
def test_the_top_is_the_whole_counts_for_every_person(
    session: Session, workspace: dict[str, Any], monkeypatch: pytest.MonkeyPatch, candidates: int, limit: int
) -> None:
    monkeypatch.setattr(metrics, "TOP_ASSUMPTION_CANDIDATES", candidates)
    for handle in ("ana", "ben", "gil"):
        viewer = viewer_for(session, workspace[handle])
        got = metrics._top_failed_assumptions(session, viewer, limit=limit)
        assert got == reference(session, viewer, limit), (handle, candidates, limit)


def test_what_a_person_may_not_see_is_not_counted(session: Session, workspace: dict[str, Any]) -> None:
    ben = viewer_for(session, workspace["ben"])
    top = metrics._top_failed_assumptions(session, ben)
    assert [(t["statement"], t["failures"]) for t in top] == [
        ("The cache is always warm", 3),
        ("Staging matches production", 2),
        ("Vendors keep verbal dates", 1),
    ]
    everything = metrics._top_failed_assumptions(session, SYSTEM)
    assert [(t["statement"], t["failures"]) for t in everything][:2] == [
        ("Vendors keep verbal dates", 4),
        ("The cache is always warm", 3),
    ]
