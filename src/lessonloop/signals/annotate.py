"""Keep the coach's judgements on the records they judge, on every write.

A ``before_flush`` hook stores a review's blame-language finding count and each action's
specificity score, so the learning metrics read two columns instead of re-running the coach over
every review at 100k failures. Derived state, deliberately: it is recomputed whenever the text it
derives from changes, and nothing else writes it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from lessonloop.actions.models import Action
from lessonloop.reviews.models import Review
from lessonloop.signals.coach import coach_text
from lessonloop.signals.specificity import specificity

REVIEW_FIELDS = ("assumption_text", "evidence", "what_changed", "root_cause", "gap_justification")


def blame_count(review: Review) -> int:
    texts = [getattr(review, f) or "" for f in REVIEW_FIELDS] + list(review.contributing_factors or [])
    return sum(1 for text in texts for finding in coach_text(text) if finding.kind == "blame")


def action_specificity(action: Action) -> int:
    """0-100, the sum of the parts :mod:`lessonloop.signals.specificity` finds: one owner 25, a
    concrete verb 25, a measurable outcome 30, a due date 20 (docs/metrics.md)."""
    owner = action.owner.handle if action.owner is not None else None
    if owner is None and action.owner_id is not None:
        owner = str(action.owner_id)  # a new action whose owner is not loaded: still one person
    return specificity(action.title, owner=owner, due_date=action.due_date)


def annotate_flush(session: Session, _context: Any, _instances: Any) -> None:
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, Review):
            count = blame_count(obj)
            if obj.blame_findings != count:
                obj.blame_findings = count
        elif isinstance(obj, Action):
            score = action_specificity(obj)
            if obj.specificity != score:
                obj.specificity = score
