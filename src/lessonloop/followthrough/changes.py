"""What changed because of failure #N: checklist revisions and guardrails it prompted."""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor
from lessonloop.failures.models import Failure
from lessonloop.followthrough.checklists import RevisionOut, revision_out, revisions_because_of
from lessonloop.followthrough.guardrails import GuardrailOut, guardrail_out, guardrails_because_of


class ChangedBecause(BaseModel):
    failure_id: int
    failure_title: str | None  # None when the failure was deleted
    revisions: list[RevisionOut]
    guardrails: list[GuardrailOut]


def changed_because(session: Session, failure_id: int | str, *, viewer: Actor) -> ChangedBecause:
    revisions = revisions_because_of(session, failure_id, viewer=viewer)
    number = int(failure_id)
    failure = session.get(Failure, number)
    return ChangedBecause(
        failure_id=number,
        failure_title=failure.title if failure is not None else None,
        revisions=[revision_out(session, r, viewer) for r in revisions],
        guardrails=[
            guardrail_out(session, g, viewer=viewer)
            for g in guardrails_because_of(session, number, viewer=viewer)
        ],
    )
