"""The failure page's data in one call: what a person sees when they open a failure.

The web page renders this; the API's ``GET /failures/{id}/overview`` answers its overview part.
Deciding what the person may do here (work on which actions, change the failure, start a
development plan) is policy, so it is decided here, not in the page handler.

"Have we seen this before?" (similar failures and a repeat to confirm) is its own call,
:func:`similar_on_page`: it is the one part whose cost grows with the workspace (the full-text
candidates are ranked by the database), so the page shows the failure first and that section
follows in a second request (decision 64).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from lessonloop.access.policy import can_edit_failure, can_work_on_action
from lessonloop.access.viewer import Viewer
from lessonloop.actions.models import Action
from lessonloop.actions.service import list_actions
from lessonloop.coaching.service import teams_led_over
from lessonloop.failures.history import HistoryLine, failure_history
from lessonloop.failures.models import Failure
from lessonloop.failures.overview import FailureOverview, failure_overview
from lessonloop.failures.service import get_visible_failure
from lessonloop.people.models import Person
from lessonloop.reviews.models import GapType, Review
from lessonloop.reviews.service import review_for_failure
from lessonloop.reviews.templates import answered_questions
from lessonloop.signals.observe import similar_to_failure
from lessonloop.signals.similar import SimilarMatch

#: How many similar failures the page lists under "have we seen this before?".
SIMILAR_ON_PAGE = 3


@dataclass
class FailurePage:
    failure: Failure
    overview: FailureOverview
    review: Review | None
    actions: list[Action]
    workable: set[int]  # the actions this person may complete, drop or experiment on
    can_edit: bool
    plan_people: list[Person]  # who a development plan could be for (reporter and people involved)
    may_plan: bool  # a skill-gap review and this person may start a plan for one of them
    history: list[HistoryLine]  # the failure's and its records' (failures.history), readable, newest first
    # The review template's extra questions that were answered, in the template's order.
    extra_answers: list[tuple[dict[str, Any], Any]] = field(default_factory=list)


@dataclass
class SimilarOnPage:
    """The page's "have we seen this before?" section."""

    failure: Failure
    can_edit: bool  # may confirm the suggested repeat
    similar: list[SimilarMatch]
    suggested: SimilarMatch | None  # a repeat to confirm, when one is close enough
    overlap: float  # the share of words the suggested repeat shares with this failure


def failure_page(session: Session, failure_id: int | str, *, viewer: Viewer) -> FailurePage:
    """404 unless ``viewer`` may see the failure; everything on the page is then what they may see."""
    failure = get_visible_failure(session, failure_id, viewer)
    overview = failure_overview(session, failure.id, viewer=viewer)
    actions = list_actions(session, failure_id=failure.id, page_size=500, viewer=viewer).items
    review = review_for_failure(session, failure.id, viewer=viewer)
    involved = [p for p in [failure.reporter, *failure.people] if p is not None]
    plan_people = list({p.id: p for p in involved}.values())
    me = session.get(Person, viewer.person_id)
    may_plan = bool(
        me is not None
        and review is not None
        and review.gap_type == GapType.skill.value
        and any(p.id == me.id or teams_led_over(session, me, p, viewer=viewer) for p in plan_people)
    )
    return FailurePage(
        failure=failure,
        overview=overview,
        review=review,
        actions=actions,
        workable={a.id for a in actions if can_work_on_action(viewer, a, failure)},
        can_edit=can_edit_failure(viewer, failure),
        plan_people=plan_people,
        may_plan=may_plan,
        history=failure_history(session, failure, review=review, actions=actions, viewer=viewer),
        extra_answers=[(q, a) for q, a in answered_questions(session, review, viewer=viewer) if a],
    )


def similar_on_page(session: Session, failure_id: int | str, *, viewer: Viewer) -> SimilarOnPage:
    """The failures most like this one that ``viewer`` may see, and a repeat to confirm when one
    is close enough; 404 unless ``viewer`` may see the failure itself."""
    failure = get_visible_failure(session, failure_id, viewer)
    similar, suggested, overlap = similar_to_failure(session, failure, limit=SIMILAR_ON_PAGE, viewer=viewer)
    return SimilarOnPage(
        failure=failure,
        can_edit=can_edit_failure(viewer, failure),
        similar=similar,
        suggested=suggested,
        overlap=overlap,
    )
