"""Small builders for tests: a team with people, a failure through its review."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from lessonloop.access.actor import SystemActor
from lessonloop.failures.models import Failure
from lessonloop.failures.service import log_failure
from lessonloop.people.service import add_member, add_person, add_team
from lessonloop.reviews.models import Review
from lessonloop.reviews.service import conduct_review

#: Tests that set up data or check a rule independent of who acts use this named system actor;
#: tests of the policy pass a Viewer.
SYSTEM = SystemActor("tests")


def team_with_people(session: Session) -> dict[str, Any]:
    team = add_team(session, name="Payments", viewer=SYSTEM)
    ana = add_person(session, name="Ana Lead", handle="ana", email="ana@example.com", viewer=SYSTEM)
    ben = add_person(session, name="Ben Member", handle="ben", viewer=SYSTEM)
    add_member(session, team=team, person=ana, role="lead", viewer=SYSTEM)
    add_member(session, team=team, person=ben, role="member", viewer=SYSTEM)
    return {"team": team, "ana": ana, "ben": ben}


def failure(session: Session, **overrides: Any) -> Failure:
    fields: dict[str, Any] = {"title": "Checkout release missed the launch date", "kind": "missed-deadline"}
    fields.update(overrides)
    return log_failure(session, viewer=SYSTEM, **fields)


ANSWERS = {
    "assumption_text": "The vendor API would be ready by sprint 3",
    "evidence": "A verbal promise in a call; no written date",
    "what_changed": "The vendor re-planned after a reorg",
    "root_cause": "External dependency with no agreed date or fallback",
    "gap_type": "process",
    "gap_justification": "Nobody asked for a dated commitment: no step required one",
    "contributing_factors": ["launch date set before discovery"],
    "assumptions": ["Vendors keep verbal dates"],
}


def reviewed(session: Session, failure_obj: Failure, owner: str = "ben", **answers: Any) -> Review:
    return conduct_review(
        session,
        failure_obj.id,
        answers={**ANSWERS, **answers},
        primary_action={
            "title": "Add a dated dependency check to the kickoff checklist",
            "owner": owner,
            "due_date": (dt.date.today() + dt.timedelta(days=7)).isoformat(),
        },
        viewer=SYSTEM,
    )
