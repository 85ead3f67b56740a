"""A failure with everything linked to it: review, actions, experiments, lessons, repeats, history."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor
from lessonloop.access.policy import visible_failures_clause
from lessonloop.access.scope import where_visible
from lessonloop.actions.schemas import ActionOut
from lessonloop.actions.service import list_actions
from lessonloop.experiments.schemas import ExperimentOut
from lessonloop.experiments.service import experiments_for_actions
from lessonloop.failures.lifecycle import TRANSITIONS, refusal
from lessonloop.failures.models import Failure, FailureStatus
from lessonloop.failures.schemas import FailureOut
from lessonloop.failures.service import get_visible_failure, loop_facts
from lessonloop.lessons.schemas import LessonOut
from lessonloop.lessons.service import list_lessons
from lessonloop.reviews.schemas import ReviewOut
from lessonloop.reviews.service import review_for_failure
from lessonloop.store.history import histories_of


class HistoryOut(BaseModel):
    action: str
    actor: str
    at: dt.datetime
    changes: dict[str, Any]


class NextStep(BaseModel):
    status: str
    allowed: bool
    reason: str | None


class FailureOverview(BaseModel):
    failure: FailureOut
    review: ReviewOut | None
    actions: list[ActionOut]
    experiments: list[ExperimentOut]
    lessons: list[LessonOut]
    repeats: list[int]
    next_steps: list[NextStep]
    history: list[HistoryOut]


def failure_overview(session: Session, failure_id: int | str, *, viewer: Actor) -> FailureOverview:
    """Everything about one failure. With a ``viewer``: 404 unless they may see the failure; its
    review, actions, experiments, lessons and history are then theirs to see too (they inherit the
    failure's visibility), and only the repeats they may see are listed."""
    failure = get_visible_failure(session, failure_id, viewer)
    review = review_for_failure(session, failure.id, viewer=viewer)
    actions = list_actions(session, failure_id=failure.id, page_size=500, viewer=viewer).items
    experiments = experiments_for_actions(session, [a.id for a in actions], viewer=viewer)
    lessons = list_lessons(session, failure_id=failure.id, page_size=500, viewer=viewer).items
    repeats_stmt = select(Failure.id).where(Failure.repeat_of_id == failure.id)
    repeats_stmt = where_visible(repeats_stmt, viewer, visible_failures_clause(viewer))
    repeats = list(session.scalars(repeats_stmt.order_by(Failure.id)))
    facts = loop_facts(session, failure, viewer=viewer)
    current = FailureStatus(failure.status)
    steps = [
        NextStep(status=t.value, allowed=(r := refusal(current, t, facts)) is None, reason=r)
        for t in sorted(TRANSITIONS[current], key=list(FailureStatus).index)
        if t != FailureStatus.repeated
    ]
    # One statement, however many actions (decision 43: a fixed number per page).
    history = histories_of(
        session,
        {
            "failure": [failure.id],
            "review": [review.id] if review is not None else [],
            "action": [a.id for a in actions],
        },
    )
    history.sort(key=lambda h: (h.at, h.id))
    return FailureOverview(
        failure=FailureOut.model_validate(failure),
        review=ReviewOut.model_validate(review) if review else None,
        actions=[ActionOut.model_validate(a) for a in actions],
        experiments=[ExperimentOut.of(e) for e in experiments],
        lessons=[LessonOut.of(lesson, viewer) for lesson in lessons],
        repeats=repeats,
        next_steps=steps,
        history=[
            HistoryOut(action=f"{h.record_type} {h.action}", actor=h.actor, at=h.at, changes=h.changes)
            for h in history
        ],
    )
