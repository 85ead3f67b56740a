"""The failure status machine, as plain functions the service and the tests both call.

    observed → in-review → acting → re-evaluating → learned
    a confirmed repeat marks a failure *repeated*; a repeat is then reviewed like any other.

A failure cannot reach *learned* without a completed review whose primary corrective action
is done, or dropped with a written reason: that is what makes the loop impossible to skip.
"""

from __future__ import annotations

from dataclasses import dataclass

from lessonloop.errors import Conflict
from lessonloop.failures.models import Failure
from lessonloop.failures.models import FailureStatus as S

TRANSITIONS: dict[S, frozenset[S]] = {
    S.observed: frozenset({S.in_review, S.repeated}),
    S.in_review: frozenset({S.acting, S.repeated}),
    S.acting: frozenset({S.re_evaluating, S.in_review, S.repeated}),
    S.re_evaluating: frozenset({S.learned, S.acting, S.repeated}),
    S.learned: frozenset(),
    S.repeated: frozenset({S.in_review}),
}


@dataclass(frozen=True)
class LoopFacts:
    """What the guards need to know about a failure's review and primary action."""

    review_completed: bool = False
    primary_action_closed: bool = False  # done, or dropped with a written reason


def refusal(current: S, target: S, facts: LoopFacts) -> str | None:
    """Why ``current → target`` is refused, or None when it is allowed."""
    if target == current:
        return f"the failure is already {current.value}"
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "nothing (it is final)"
        return f"cannot go from {current.value} to {target.value}; allowed next: {allowed}"
    if target in (S.acting, S.re_evaluating, S.learned) and not facts.review_completed:
        return f"cannot move to {target.value} before the review is completed"
    if target == S.learned and not facts.primary_action_closed:
        return "cannot mark learned while the primary corrective action is open (complete it, or drop it with a reason)"
    return None


def check_transition(current: S, target: S, facts: LoopFacts) -> None:
    reason = refusal(current, target, facts)
    if reason is not None:
        raise Conflict(reason, field="status")


def move(failure: Failure, target: S, facts: LoopFacts) -> None:
    """The only way a failure's status changes: checked against the machine, then set.

    Services (a review starting or completing, a transition, a confirmed repeat) call this rather
    than assigning ``failure.status``; a test greps the package for direct assignments."""
    check_transition(S(failure.status), target, facts)
    failure.status = target.value
