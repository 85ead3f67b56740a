"""Interpret: the short, structured, blameless review.

A review asks the three diagnostic questions (which assumption guided the decision, what
evidence we had, what changed), then root cause, gap type with a one-line justification and
exactly one primary corrective action. Completing it moves the failure to *acting*.

``viewer`` is required (:mod:`lessonloop.access.scope`): a named system job is let through; for a person a
review is seen by whoever may see its failure (404 otherwise) and written by whoever may change
the failure (403 otherwise).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lessonloop import limits
from lessonloop.access.actor import Actor, is_person, require_actor
from lessonloop.access.policy import visible_assumptions_clause, visible_failures_clause
from lessonloop.access.scope import require_failure_editable, require_failure_seen
from lessonloop.actions.models import Action
from lessonloop.actions.service import DEFAULT_REVIEW_OFFSET_DAYS, add_action
from lessonloop.coerce import as_datetime, as_enum, as_text
from lessonloop.errors import Conflict, Invalid
from lessonloop.failures.lifecycle import LoopFacts, move
from lessonloop.failures.models import Failure, FailureStatus
from lessonloop.failures.service import get_failure
from lessonloop.people.service import PersonRef, get_person
from lessonloop.reviews.models import (
    Assumption,
    AssumptionStatus,
    GapType,
    Review,
    ReviewStatus,
    review_assumptions,
)
from lessonloop.reviews.templates import apply_extra_answers, missing_extra
from lessonloop.store.base import utcnow
from lessonloop.store.crud import get_or_404

DIAGNOSTIC_QUESTIONS: tuple[tuple[str, str], ...] = (
    ("assumption_text", "Which assumption guided the decision?"),
    ("evidence", "What evidence did we have?"),
    ("what_changed", "What changed?"),
)
ANSWER_FIELDS = frozenset(
    {
        "assumption_text",
        "evidence",
        "what_changed",
        "root_cause",
        "gap_type",
        "gap_justification",
        "contributing_factors",
        "extra_answers",
        "held_at",
        "reviewers",
        "assumptions",
    }
)
JUSTIFICATION_MAX = limits.JUSTIFICATION_MAX  # named here too: the pages and CLI read it


def assumption_key(statement: str) -> str:
    return re.sub(r"\s+", " ", statement.strip().lower()).rstrip(".")[:500]


def record_assumption(
    session: Session, statement: str, *, status: str | None = None, viewer: Actor
) -> Assumption:
    """Find-or-create by normalised statement, so the same assumption is counted across failures."""
    require_actor(viewer)
    text = as_text(statement, "assumptions", required=True)
    key = assumption_key(text)
    assumption = session.scalar(select(Assumption).where(Assumption.key == key))
    if assumption is None:
        assumption = Assumption(statement=text, key=key, status=AssumptionStatus.held.value)
        session.add(assumption)
    if status:
        assumption.status = as_enum(status, AssumptionStatus, "status").value
    session.flush()
    return assumption


# A failure moved to in-review by hand has no review yet: it can still start one.
REVIEWABLE = (FailureStatus.observed.value, FailureStatus.in_review.value, FailureStatus.repeated.value)


def check_reviewable(session: Session, failure_id: int | str, *, viewer: Actor) -> Failure:
    """Refuse up front what :func:`conduct_review` would refuse, before anyone types an answer."""
    failure = get_failure(session, failure_id, viewer=viewer)
    require_failure_editable(viewer, failure)
    existing = session.scalar(select(Review).where(Review.failure_id == failure.id))
    if existing is not None and existing.status == ReviewStatus.completed.value:
        raise Conflict(f"review {existing.id} is completed; reopen the failure to change it", field="status")
    if existing is None and failure.status not in REVIEWABLE:
        raise Conflict(
            f"failure {failure.id} is {failure.status}; a review starts from observed", field="status"
        )
    return failure


def start_review(session: Session, failure_id: int | str, *, held_at: Any = None, viewer: Actor) -> Review:
    failure = get_failure(session, failure_id, viewer=viewer)
    require_failure_editable(viewer, failure)
    existing = session.scalar(select(Review).where(Review.failure_id == failure.id))
    if existing is not None:
        return existing
    if failure.status not in REVIEWABLE:
        raise Conflict(
            f"failure {failure.id} is {failure.status}; a review starts from observed", field="status"
        )
    review = Review(
        failure_id=failure.id,
        status=ReviewStatus.draft.value,
        held_at=as_datetime(held_at, "held_at") if held_at not in (None, "") else None,
        contributing_factors=[],
    )
    session.add(review)
    if failure.status != FailureStatus.in_review.value:  # moved there by hand already: nothing to move
        move(failure, FailureStatus.in_review, LoopFacts())
    session.flush()
    return review


def _failure_of(session: Session, review: Review) -> Failure:
    failure = session.get(Failure, review.failure_id)
    assert failure is not None  # a foreign key
    return failure


def get_review(session: Session, review_id: int | str, *, viewer: Actor) -> Review:
    """A review; 404 when ``viewer`` may not see its failure."""
    review = get_or_404(session, Review, review_id)
    if is_person(viewer):
        require_failure_seen(viewer, _failure_of(session, review))
    return review


def _editable_review(session: Session, review_id: int | str, viewer: Actor) -> Review:
    review = get_or_404(session, Review, review_id)
    if is_person(viewer):
        require_failure_editable(viewer, _failure_of(session, review))
    return review


def review_for_failure(session: Session, failure_id: int, *, viewer: Actor) -> Review | None:
    """The failure's review, if it has one (404 when ``viewer`` may not see the failure)."""
    if is_person(viewer):
        require_failure_seen(viewer, get_failure(session, failure_id, viewer=viewer))
    return session.scalar(select(Review).where(Review.failure_id == failure_id))


def update_review(
    session: Session, review_id: int | str, answers: Mapping[str, Any], *, viewer: Actor
) -> Review:
    review = _editable_review(session, review_id, viewer)
    if review.status == ReviewStatus.completed.value:
        raise Conflict(f"review {review.id} is completed; reopen the failure to change it", field="status")
    _apply_answers(session, review, answers, viewer=viewer)
    session.flush()
    return review


#: What a completed review's correction may change (its actions are edited on their own).
REVISABLE_FIELDS = frozenset(
    {
        "assumption_text",
        "evidence",
        "what_changed",
        "root_cause",
        "gap_type",
        "gap_justification",
        "contributing_factors",
        "extra_answers",
        "held_at",
    }
)


def revise_review(
    session: Session, review_id: int | str, answers: Mapping[str, Any], *, viewer: Actor
) -> Review:
    """Correct a *completed* review: its answers, root cause, gap type and justification, and when
    it was held (a back-fill). Whoever may change the failure may (403 otherwise). The review
    stays complete, so no answer it needs may be emptied; the change lands in its history and the
    coach's stored findings are recomputed on flush (:mod:`lessonloop.signals.annotate`)."""
    review = _editable_review(session, review_id, viewer)
    if review.status != ReviewStatus.completed.value:
        raise Conflict(f"review {review.id} is a draft; continue it instead", field="status")
    unknown = set(answers) - REVISABLE_FIELDS
    if unknown:
        raise Invalid("cannot be changed on a completed review", field=sorted(unknown)[0])
    _apply_answers(session, review, answers, viewer=viewer)
    missing = [m for m in missing_for_completion(session, review, viewer=viewer) if m[0] != "primary_action"]
    if missing:
        field, message = missing[0]
        raise Invalid(f"a completed review needs it: {message}", field=field)
    if review.held_at is None:
        raise Invalid("a completed review needs it: when was it held?", field="held_at")
    if review.held_at > utcnow():
        raise Invalid("must not be in the future", field="held_at")
    session.flush()
    return review


def _apply_answers(session: Session, review: Review, answers: Mapping[str, Any], *, viewer: Actor) -> None:
    unknown = set(answers) - ANSWER_FIELDS
    if unknown:
        raise Invalid("is not a review field", field=sorted(unknown)[0])
    for key, value in answers.items():
        if key in {"assumption_text", "evidence", "what_changed", "root_cause"}:
            setattr(review, key, as_text(value, key))
        elif key == "gap_type":
            review.gap_type = as_enum(value, GapType, key).value if value not in (None, "") else None
        elif key == "gap_justification":
            review.gap_justification = _one_line(value)
        elif key == "contributing_factors":
            review.contributing_factors = _factors(value)
        elif key == "extra_answers":
            apply_extra_answers(session, review, value, viewer=viewer)
        elif key == "held_at":
            review.held_at = as_datetime(value, key) if value not in (None, "") else None
        elif key == "reviewers":
            review.reviewers = _unique_people(session, value or [], viewer=viewer)
        elif key == "assumptions":
            # The assumptions named in a review guided a decision that failed.
            review.assumptions = [
                record_assumption(session, s, status=AssumptionStatus.failed.value, viewer=viewer)
                for s in _strings(value)
            ]


def _one_line(value: Any) -> str:
    text = as_text(value, "gap_justification", max_len=JUSTIFICATION_MAX)
    if "\n" in text:
        raise Invalid("must be one line", field="gap_justification")
    return text


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        lines = value.replace("\x00", "").splitlines()
        return [line.strip(" -*\t") for line in lines if line.strip(" -*\t")]
    return [str(v).replace("\x00", "").strip() for v in value if str(v).replace("\x00", "").strip()]


def _factors(value: Any) -> list[str]:
    return _strings(value)


def _unique_people(session: Session, refs: Iterable[PersonRef], *, viewer: Actor) -> list[Any]:
    found: dict[int, Any] = {}
    for ref in refs:
        person = get_person(session, ref, field="reviewers", viewer=viewer)
        found[person.id] = person
    return list(found.values())


def primary_action(session: Session, review: Review, *, viewer: Actor) -> Action | None:
    require_actor(viewer)
    return session.scalar(select(Action).where(Action.review_id == review.id, Action.is_primary))


def missing_for_completion(session: Session, review: Review, *, viewer: Actor) -> list[tuple[str, str]]:
    """(field, message) for everything a completed review still lacks."""
    require_actor(viewer)
    missing = [
        (field, f"answer {question!r}")
        for field, question in DIAGNOSTIC_QUESTIONS
        if not getattr(review, field).strip()
    ]
    if not review.root_cause.strip():
        missing.append(("root_cause", "name the root cause"))
    if not review.gap_type:
        missing.append(("gap_type", "choose skill, process, context or resourcing"))
    if not review.gap_justification.strip():
        missing.append(("gap_justification", "justify the gap type in one line"))
    if primary_action(session, review, viewer=viewer) is None:
        missing.append(("primary_action", "add exactly one primary corrective action"))
    return missing


def complete_review(session: Session, review_id: int | str, *, viewer: Actor) -> Review:
    review = _editable_review(session, review_id, viewer)
    if review.status == ReviewStatus.completed.value:
        raise Conflict(f"review {review.id} is already completed", field="status")
    missing = missing_for_completion(session, review, viewer=viewer)
    missing += missing_extra(session, review, viewer=viewer)  # the template's required questions
    if missing:
        field, message = missing[0]
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise Invalid(f"{message}{more}", field=field)
    if review.held_at is not None and review.held_at > utcnow():
        raise Invalid("must not be in the future", field="held_at")  # as a correction is refused
    review.status = ReviewStatus.completed.value
    review.completed_at = utcnow()
    review.held_at = review.held_at or review.completed_at
    failure = session.get(Failure, review.failure_id)
    assert failure is not None
    move(failure, FailureStatus.acting, LoopFacts(review_completed=True))
    session.flush()
    return review


def conduct_review(
    session: Session,
    failure_id: int | str,
    *,
    answers: Mapping[str, Any],
    primary_action: Mapping[str, Any],
    secondary_actions: Sequence[Mapping[str, Any]] = (),
    review_offset_days: int = DEFAULT_REVIEW_OFFSET_DAYS,
    viewer: Actor,
) -> Review:
    """Start, fill and complete a review in one step (CLI prompts, a review file, the API)."""
    review = start_review(session, failure_id, held_at=answers.get("held_at"), viewer=viewer)
    update_review(session, review.id, answers, viewer=viewer)
    for index, spec in enumerate([primary_action, *secondary_actions]):
        _action_from_spec(session, review, spec, primary=index == 0, offset=review_offset_days, viewer=viewer)
    return complete_review(session, review.id, viewer=viewer)


def _action_from_spec(
    session: Session, review: Review, spec: Mapping[str, Any], *, primary: bool, offset: int, viewer: Actor
) -> Action:
    allowed = {"title", "owner", "due_date", "review_date", "backfill"}
    unknown = set(spec) - allowed
    if unknown:
        raise Invalid("is not an action field", field=sorted(unknown)[0])
    fields = {
        "failure_id": review.failure_id,
        "review_id": review.id,
        "title": spec.get("title", ""),
        "owner": spec.get("owner"),
        "due_date": spec.get("due_date"),
        "review_date": spec.get("review_date"),
        "review_offset_days": offset,
        "backfill": bool(spec.get("backfill", False)),
    }
    if not primary:
        return add_action(session, **fields, viewer=viewer)
    return _add_primary_action(session, review, fields, viewer)


def _add_primary_action(session: Session, review: Review, fields: dict[str, Any], viewer: Actor) -> Action:
    """``add_action`` checks for an existing primary action, but two requests can both pass
    that check; the partial unique index ``uq_actions_one_primary`` stops the second insert. The
    savepoint undoes only that insert, so the session stays usable for the 409."""
    try:
        with session.begin_nested():
            return add_action(session, **fields, primary=True, viewer=viewer)
    except IntegrityError:
        # The messages differ per backend; the committed primary action is the proof.
        existing = primary_action(session, review, viewer=viewer)
        if existing is None:
            raise
        raise Conflict(
            f"the review already has its primary action (#{existing.id}), added just now", field="primary"
        ) from None


def add_review_action(
    session: Session,
    review_id: int | str,
    spec: Mapping[str, Any],
    *,
    primary: bool = False,
    review_offset_days: int = DEFAULT_REVIEW_OFFSET_DAYS,
    viewer: Actor,
) -> Action:
    review = _editable_review(session, review_id, viewer)
    return _action_from_spec(session, review, spec, primary=primary, offset=review_offset_days, viewer=viewer)


def list_assumptions(
    session: Session, *, status: str | None = None, viewer: Actor
) -> list[tuple[Assumption, int]]:
    """Assumptions with how many failures they were named in, the most frequent first.

    With a ``viewer``: only assumptions named in no review or in the review of a failure they may
    see, and only those failures are counted.
    """
    count = func.count(review_assumptions.c.review_id)
    join_on = review_assumptions.c.assumption_id == Assumption.id
    if is_person(viewer):
        visible_reviews = select(Review.id).where(
            Review.failure_id.in_(select(Failure.id).where(visible_failures_clause(viewer)))
        )
        join_on = join_on & review_assumptions.c.review_id.in_(visible_reviews)
    stmt = (
        select(Assumption, count)
        .outerjoin(review_assumptions, join_on)
        .group_by(Assumption.id)
        .order_by(count.desc(), Assumption.id)
    )
    if is_person(viewer):
        stmt = stmt.where(visible_assumptions_clause(viewer))
    if status:
        stmt = stmt.where(Assumption.status == as_enum(status, AssumptionStatus, "status").value)
    return [(row[0], int(row[1])) for row in session.execute(stmt)]
