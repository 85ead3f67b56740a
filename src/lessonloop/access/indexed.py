"""Which search-index documents a viewer may see: each kind by its own rule.

* failures, reviews and actions: by their failure (``visible_failures_clause`` and twins);
* lessons: by the lesson rule (``visible_lessons_clause``);
* assumptions: named in no review, or in the review of at least one failure the viewer may see.

Coaching notes and development plans are never indexed (they have no ``__search_kind__``), so
they cannot appear in search at all.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, exists, false, or_, select
from sqlalchemy.orm import aliased

from lessonloop.access.policy import visible_failures_clause, visible_lessons_clause
from lessonloop.access.viewer import Viewer
from lessonloop.actions.models import Action
from lessonloop.failures.models import Failure
from lessonloop.lessons.models import Lesson
from lessonloop.reviews.models import Assumption, Review, review_assumptions
from lessonloop.store.search import Visibility


def document_visibility(viewer: Viewer) -> Visibility:
    """The rules above as a clause on one document, for the search statement itself
    (:func:`lessonloop.store.search.rank`): given a kind and the SQL expression of a record id,
    whether ``viewer`` may see that record; unknown kinds: no.

    Every clause is *correlated* to that one record id, so the search evaluates it only for the
    documents it reads in rank order until its page is full. The records that inherit a
    failure's visibility join their failure and apply :func:`visible_failures_clause` to it;
    the policy's own twins for them (``failure_id IN (every visible failure)``) would make the
    database list every failure the viewer may see on each search.
    """

    def via_failure(model: Any, record_id: ColumnElement[int]) -> ColumnElement[bool]:
        record, owner = aliased(model), aliased(Failure)
        return exists(
            select(record.id)
            .join(owner, owner.id == record.failure_id)
            .where(record.id == record_id, visible_failures_clause(viewer, owner))
        )

    def clause(kind: str, record_id: ColumnElement[int]) -> ColumnElement[bool]:
        if kind == "failure":
            f = aliased(Failure)
            return exists(select(f.id).where(f.id == record_id, visible_failures_clause(viewer, f)))
        if kind in ("review", "action"):
            return via_failure(Review if kind == "review" else Action, record_id)
        if kind == "lesson":
            lesson = aliased(Lesson)
            return exists(
                select(lesson.id).where(lesson.id == record_id, visible_lessons_clause(viewer, lesson))
            )
        if kind == "assumption":
            # visible_assumptions_clause, correlated to the one assumption: named in no review,
            # or in the review of a failure the viewer may see
            a, r, f = aliased(Assumption), aliased(Review), aliased(Failure)
            ra, ra2 = review_assumptions.alias(), review_assumptions.alias()
            named = exists(select(ra.c.assumption_id).where(ra.c.assumption_id == a.id))
            seen = exists(
                select(ra2.c.assumption_id)
                .join(r, r.id == ra2.c.review_id)
                .join(f, f.id == r.failure_id)
                .where(ra2.c.assumption_id == a.id, visible_failures_clause(viewer, f))
            )
            return exists(select(a.id).where(a.id == record_id, or_(~named, seen)))
        return false()

    # what the rules read of a viewer: two viewers with this key see the same documents
    key = ("viewer", viewer.person_id, viewer.is_admin, tuple(sorted(viewer.roles.items())))
    return Visibility(key, clause)
