"""Which search-index documents a viewer may see: each kind by its own rule.

* failures, reviews and actions: by their failure (``visible_failures_clause`` and twins);
* lessons: by the lesson rule (``visible_lessons_clause``);
* assumptions: named in no review, or in the review of at least one failure the viewer may see.

Coaching notes and development plans are never indexed (they have no ``__search_kind__``), so
they cannot appear in search at all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from lessonloop.access.policy import (
    visible_actions_clause,
    visible_assumptions_clause,
    visible_failures_clause,
    visible_lessons_clause,
    visible_reviews_clause,
)
from lessonloop.access.viewer import Viewer
from lessonloop.actions.models import Action
from lessonloop.failures.models import Failure
from lessonloop.lessons.models import Lesson
from lessonloop.reviews.models import Assumption, Review

_RULES: dict[str, tuple[Any, Any]] = {
    "failure": (Failure, visible_failures_clause),
    "review": (Review, visible_reviews_clause),
    "action": (Action, visible_actions_clause),
    "lesson": (Lesson, visible_lessons_clause),
    "assumption": (Assumption, visible_assumptions_clause),
}

_CHUNK = 500  # stay far below SQLite's bound-parameter limit


def visible_documents(
    session: Session, viewer: Viewer, keys: Iterable[tuple[str, int]]
) -> set[tuple[str, int]]:
    """The ``(kind, record_id)`` pairs among ``keys`` that ``viewer`` may see; unknown kinds: none."""
    by_kind: dict[str, list[int]] = defaultdict(list)
    for kind, record_id in keys:
        by_kind[kind].append(record_id)
    seen: set[tuple[str, int]] = set()
    for kind, ids in by_kind.items():
        rule = _RULES.get(kind)
        if rule is None:
            continue
        model, clause_for = rule
        unique = sorted(set(ids))
        for start in range(0, len(unique), _CHUNK):
            chunk = unique[start : start + _CHUNK]
            clause: ColumnElement[bool] = clause_for(viewer, model)
            stmt = select(model.id).where(model.id.in_(chunk), clause)
            seen.update((kind, int(i)) for i in session.scalars(stmt))
    return seen
