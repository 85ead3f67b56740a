"""Interpret: the blameless review — three questions, root cause, gap type, ONE primary action.

Step by step (start, answer, add actions, complete) or in one call (``POST /failures/{id}/review``).
"""

from __future__ import annotations

from fastapi import APIRouter

from lessonloop.actions.schemas import ActionOut
from lessonloop.api.common import ERROR_RESPONSES
from lessonloop.api.deps import AppSettings, CurrentViewer, DbSession
from lessonloop.api.one_thread import OneThreadRoute
from lessonloop.errors import NotFound
from lessonloop.failures.service import get_visible_failure
from lessonloop.reviews import service
from lessonloop.reviews.schemas import (
    AddReviewAction,
    ConductReview,
    ReviewAnswers,
    ReviewOut,
    ReviseReview,
    StartReview,
)

router = APIRouter(route_class=OneThreadRoute, tags=["reviews"], responses=ERROR_RESPONSES)


@router.post("/failures/{failure_id}/review", status_code=201)
def conduct_review(
    failure_id: int, body: ConductReview, session: DbSession, settings: AppSettings, viewer: CurrentViewer
) -> ReviewOut:
    """Start, answer and complete a review in one call; the failure moves to *acting*.

    All or nothing: if any part is refused (an unknown owner, a missing answer) nothing is saved.
    """
    review = service.conduct_review(
        session,
        failure_id,
        answers=body.answers.changes(),
        primary_action=body.primary_action.spec(),
        secondary_actions=[a.spec() for a in body.secondary_actions],
        review_offset_days=settings.default_review_offset_days,
        viewer=viewer,
    )
    return ReviewOut.model_validate(review)


@router.get("/failures/{failure_id}/review")
def review_of_failure(failure_id: int, session: DbSession, viewer: CurrentViewer) -> ReviewOut:
    """The failure's review (404 when none has been started)."""
    failure = get_visible_failure(session, failure_id, viewer)
    review = service.review_for_failure(session, failure.id, viewer=viewer)
    if review is None:
        raise NotFound(f"failure {failure.id} has no review yet", field="review")
    return ReviewOut.model_validate(review)


@router.post("/reviews", status_code=201)
def start_review(body: StartReview, session: DbSession, viewer: CurrentViewer) -> ReviewOut:
    """Start a draft review; the failure moves to *in-review*. Starting again returns the same review."""
    review = service.start_review(session, body.failure_id, held_at=body.held_at, viewer=viewer)
    return ReviewOut.model_validate(review)


@router.get("/reviews/{review_id}")
def get_review(review_id: int, session: DbSession, viewer: CurrentViewer) -> ReviewOut:
    """A review (404 when you may not see its failure)."""
    return ReviewOut.model_validate(service.get_review(session, review_id, viewer=viewer))


@router.patch("/reviews/{review_id}")
def answer_review(
    review_id: int, body: ReviewAnswers, session: DbSession, viewer: CurrentViewer
) -> ReviewOut:
    """Fill in or change answers of a draft review."""
    return ReviewOut.model_validate(service.update_review(session, review_id, body.changes(), viewer=viewer))


@router.post("/reviews/{review_id}/revise")
def revise_review(review_id: int, body: ReviseReview, session: DbSession, viewer: CurrentViewer) -> ReviewOut:
    """Correct a completed review (answers, root cause, gap type, when it was held): only the fields
    sent change; emptying one a completed review needs is a 422, a draft review a 409."""
    return ReviewOut.model_validate(service.revise_review(session, review_id, body.changes(), viewer=viewer))


@router.post("/reviews/{review_id}/actions", status_code=201)
def add_review_action(
    review_id: int, body: AddReviewAction, session: DbSession, settings: AppSettings, viewer: CurrentViewer
) -> ActionOut:
    """Add an action to the review; a second primary action is a 409."""
    action = service.add_review_action(
        session,
        review_id,
        body.spec(),
        primary=body.primary,
        review_offset_days=settings.default_review_offset_days,
        viewer=viewer,
    )
    return ActionOut.model_validate(action)


@router.post("/reviews/{review_id}/complete")
def complete_review(review_id: int, session: DbSession, viewer: CurrentViewer) -> ReviewOut:
    """Complete the review (422 naming the first missing answer); the failure moves to *acting*."""
    return ReviewOut.model_validate(service.complete_review(session, review_id, viewer=viewer))
