"""Write and read coaching notes and development plans. Only author and subject ever see them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lessonloop import limits
from lessonloop.access.actor import Actor, is_person, require_actor
from lessonloop.access.policy import (
    can_see_failure,
    can_see_note,
    can_see_plan,
    visible_notes_clause,
    visible_plans_clause,
)
from lessonloop.access.viewer import Viewer, viewer_for
from lessonloop.coaching.models import CoachingNote, DevelopmentPlan, PlanStatus
from lessonloop.coerce import as_date, as_text
from lessonloop.errors import Conflict, Invalid, NotFound, PermissionDenied
from lessonloop.failures.models import Failure
from lessonloop.people.models import Membership, Person, Role
from lessonloop.people.service import PersonRef, TeamRef, get_person, get_team
from lessonloop.reviews.models import GapType, Review
from lessonloop.store.base import utcnow
from lessonloop.store.crud import get_or_404

MAX_NOTE_LENGTH = limits.LONG_TEXT_MAX


def teams_led_over(
    session: Session, lead: Person | int, subject: Person | int, *, viewer: Actor
) -> list[int]:
    """Ids of the teams in which ``lead`` is a lead and ``subject`` is a member (any role)."""
    require_actor(viewer)
    lead_id = lead if isinstance(lead, int) else lead.id
    subject_id = subject if isinstance(subject, int) else subject.id
    led = select(Membership.team_id).where(
        Membership.person_id == lead_id, Membership.role == Role.lead.value
    )
    stmt = (
        select(Membership.team_id)
        .where(Membership.person_id == subject_id, Membership.team_id.in_(led))
        .order_by(Membership.team_id)
    )
    return list(session.scalars(stmt))


def people_led_by(session: Session, lead: Person | int, *, viewer: Actor) -> list[Person]:
    """Everyone else who is a member (any role) of a team in which ``lead`` is a lead, by handle:
    :func:`teams_led_over` for the whole directory in one statement (the coaching page asked it
    person by person)."""
    require_actor(viewer)
    lead_id = lead if isinstance(lead, int) else lead.id
    led = select(Membership.team_id).where(
        Membership.person_id == lead_id, Membership.role == Role.lead.value
    )
    members = select(Membership.person_id).where(Membership.team_id.in_(led))
    stmt = select(Person).where(Person.id.in_(members), Person.id != lead_id).order_by(Person.handle)
    return list(session.scalars(stmt))


# -- coaching notes -----------------------------------------------------------------------------


def _acting_author(session: Session, author: PersonRef, viewer: Actor) -> Person:
    """The author, who must be the person acting: nobody writes a note or a plan in another's
    name (a system job, the local CLI, may name any author)."""
    author_obj = get_person(session, author, field="author", viewer=viewer)
    if is_person(viewer) and author_obj.id != viewer.person_id:
        raise PermissionDenied("you may only write coaching notes and plans as yourself", field="author")
    return author_obj


def write_note(
    session: Session,
    *,
    author: PersonRef,
    subject: PersonRef,
    body: str,
    team: TeamRef | None = None,
    viewer: Actor,
) -> CoachingNote:
    """A private note from a lead to someone in a team they lead.

    Refused (403) unless ``author`` is a *lead* of a team ``subject`` belongs to; ``team`` picks
    which one when there are several (default: the first).
    """
    author_obj = _acting_author(session, author, viewer)
    subject_obj = get_person(session, subject, field="subject", viewer=viewer)
    if author_obj.id == subject_obj.id:
        raise Invalid("a coaching note is for someone you lead, not yourself", field="subject")
    text = as_text(body, "body", required=True, max_len=MAX_NOTE_LENGTH)
    led = teams_led_over(session, author_obj, subject_obj, viewer=viewer)
    if not led:
        raise PermissionDenied(
            f"only a lead of a team {subject_obj.handle} belongs to may write them a coaching note",
            field="author",
        )
    team_id = led[0]
    if team not in (None, ""):
        team_id = get_team(session, team, viewer=viewer).id
        if team_id not in led:
            raise PermissionDenied(
                f"{author_obj.handle} does not lead {subject_obj.handle} in that team", field="team"
            )
    note = CoachingNote(author=author_obj, subject=subject_obj, team_id=team_id, body=text)
    session.add(note)
    session.flush()
    return note


def notes_visible_to(
    session: Session, viewer: Viewer, *, subject: PersonRef | None = None
) -> list[CoachingNote]:
    """The notes ``viewer`` wrote or received, newest first (optionally about one ``subject``)."""
    stmt = select(CoachingNote).where(visible_notes_clause(viewer))
    if subject not in (None, ""):
        stmt = stmt.where(
            CoachingNote.subject_id == get_person(session, subject, field="subject", viewer=viewer).id
        )
    return list(session.scalars(stmt.order_by(CoachingNote.created_at.desc(), CoachingNote.id.desc())))


def get_note(session: Session, viewer: Viewer, note_id: int | str) -> CoachingNote:
    """One note; a note the viewer may not see answers 404 as if it did not exist."""
    note = get_or_404(session, CoachingNote, note_id)
    if not can_see_note(viewer, note):
        raise NotFound(f"no coaching_note with id {note.id}", field="coaching_note_id")
    return note


def delete_note(session: Session, viewer: Viewer, note_id: int | str) -> None:
    """Only the author may delete a note (the subject may read it, not erase it)."""
    note = get_note(session, viewer, note_id)
    if note.author_id != viewer.person_id:
        raise PermissionDenied("only the author may delete a coaching note", field="coaching_note_id")
    session.delete(note)
    session.flush()


# -- development plans --------------------------------------------------------------------------

_NOT_A_SKILL_GAP = {
    GapType.process.value: (
        "names a process gap: that calls for a checklist or guardrail change (an action on the "
        "review), not a development plan for a person"
    ),
    GapType.context.value: (
        "names a context gap: that calls for a checklist or guardrail change that puts the missing "
        "context where the work happens, not a development plan for a person"
    ),
    GapType.resourcing.value: (
        "names a resourcing gap: that calls for time, budget or people, not a development plan for a person"
    ),
}


def check_skill_gap(review: Review) -> None:
    """A development plan follows only a review that found a *skill* gap (409 otherwise)."""
    if review.gap_type == GapType.skill.value:
        return
    if not review.gap_type:
        raise Conflict(
            f"review {review.id} has no gap type yet; a development plan follows only a review that "
            "names a skill gap",
            field="review",
        )
    reason = _NOT_A_SKILL_GAP.get(review.gap_type, f"names a {review.gap_type} gap, not a skill gap")
    raise Conflict(f"review {review.id} {reason}", field="review")


def start_plan(
    session: Session,
    *,
    author: PersonRef,
    review: int | str | Review,
    person: PersonRef,
    goals: str,
    support: str = "",
    review_date: Any,
    viewer: Actor,
) -> DevelopmentPlan:
    """A development plan for ``person`` after ``review`` found a skill gap.

    * The review must name a *skill* gap (otherwise 409, saying what the gap calls for instead).
    * ``person`` must be the failure's reporter or one of the people involved.
    * ``author`` must be a lead of a team ``person`` belongs to, or ``person`` themselves, and
      must be allowed to see the failure.
    """
    review_obj = review if isinstance(review, Review) else get_or_404(session, Review, review)
    check_skill_gap(review_obj)
    author_obj = _acting_author(session, author, viewer)
    person_obj = get_person(session, person, field="person", viewer=viewer)
    failure = get_or_404(session, Failure, review_obj.failure_id)
    if person_obj.id != failure.reporter_id and person_obj.id not in {p.id for p in failure.people}:
        raise Invalid(
            f"{person_obj.handle} neither reported nor was involved in failure {failure.id}", field="person"
        )
    if author_obj.id != person_obj.id and not teams_led_over(session, author_obj, person_obj, viewer=viewer):
        raise PermissionDenied(
            f"only {person_obj.handle} or a lead of a team they belong to may start their development plan",
            field="author",
        )
    if not can_see_failure(viewer_for(session, author_obj), failure):
        raise PermissionDenied(f"{author_obj.handle} may not see failure {failure.id}", field="author")
    plan = DevelopmentPlan(
        review_id=review_obj.id,
        person=person_obj,
        author=author_obj,
        goals=as_text(goals, "goals", required=True, max_len=MAX_NOTE_LENGTH),
        support=as_text(support, "support", max_len=MAX_NOTE_LENGTH),
        review_date=as_date(review_date, "review_date"),
        status=PlanStatus.open.value,
    )
    session.add(plan)
    session.flush()
    return plan


def plans_visible_to(session: Session, viewer: Viewer, *, status: str | None = None) -> list[DevelopmentPlan]:
    """The plans ``viewer`` wrote or is the subject of, by review date."""
    stmt = select(DevelopmentPlan).where(visible_plans_clause(viewer))
    if status not in (None, ""):
        stmt = stmt.where(DevelopmentPlan.status == str(status))
    return list(session.scalars(stmt.order_by(DevelopmentPlan.review_date, DevelopmentPlan.id)))


def get_plan(session: Session, viewer: Viewer, plan_id: int | str) -> DevelopmentPlan:
    plan = get_or_404(session, DevelopmentPlan, plan_id)
    if not can_see_plan(viewer, plan):
        raise NotFound(f"no development_plan with id {plan.id}", field="development_plan_id")
    return plan


def complete_plan(
    session: Session, viewer: Viewer, plan_id: int | str, *, now: dt.datetime | None = None
) -> DevelopmentPlan:
    """Mark a plan done (its author or its subject)."""
    plan = get_plan(session, viewer, plan_id)
    if plan.status == PlanStatus.done.value:
        raise Conflict(f"development plan {plan.id} is done already", field="status")
    plan.status = PlanStatus.done.value
    plan.completed_at = now or utcnow()
    session.flush()
    return plan
