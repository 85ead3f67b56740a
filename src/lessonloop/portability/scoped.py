"""A native export as one person sees the workspace: only what they may see.

:func:`lessonloop.portability.native.export_workspace` takes ``viewer``; ``None`` (the CLI on
its own database) writes everything. With a viewer, per record type:

* people, teams, memberships: all (the directory is open to everyone signed in);
* review templates: all (anyone signed in may read them);
* accounts and API tokens: none (password hashes and token digests never leave for a person);
* failures, reviews, actions, experiments, observations: those of failures they may see;
* lessons: the lesson rule; a lesson's ``failures`` lists only the failures they may see;
* assumptions: named in no review or in the review of a failure they may see;
* escalations: only those whose every failure they may see (the explanation names them);
* coaching notes and development plans: only their own (written by them or about them) — an org
  admin gets no one else's; a plan also needs its review to be visible;
* comments: those on a failure, review, action or lesson written above; a failure's timeline
  entries, links and attachments: those of failures they may see;
* history: the entries of the records written above, nothing else.

A failure's ``repeat_of_id`` that points at a failure they may not see is written as ``null``, so
the file is consistent: it can be imported into an empty database like any export.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.orm import Session, aliased

from lessonloop.access.policy import (
    can_see_escalation,
    visible_actions_clause,
    visible_assumptions_clause,
    visible_experiments_clause,
    visible_failure_ids,
    visible_failures_clause,
    visible_lessons_clause,
    visible_notes_clause,
    visible_observations_clause,
    visible_plans_clause,
    visible_reviews_clause,
)
from lessonloop.access.viewer import Viewer
from lessonloop.actions.models import Action
from lessonloop.coaching.models import CoachingNote, DevelopmentPlan
from lessonloop.discussion.models import Attachment, Comment, FailureLink, TimelineEntry
from lessonloop.escalations.models import Escalation
from lessonloop.experiments.models import Experiment, Observation
from lessonloop.failures.models import Failure
from lessonloop.lessons.models import Lesson
from lessonloop.people.models import Membership, Person, Team
from lessonloop.reviews.models import Assumption, Review, ReviewTemplate
from lessonloop.store.history import HistoryEntry

# Record types whose rows every signed-in person may see.
_OPEN: dict[str, Any] = {
    "person": Person,
    "team": Team,
    "membership": Membership,
    "review_template": ReviewTemplate,  # anyone signed in may read the templates
}
# Record types never exported for a person.
_NEVER = frozenset({"account", "api_token"})


def visible_comments_clause(viewer: Viewer) -> ColumnElement[bool]:
    """Comments on a record ``viewer`` may see (the record's own rule)."""
    lesson = aliased(Lesson)
    return or_(
        and_(Comment.failure_id.is_not(None), Comment.failure_id.in_(visible_failure_ids(viewer))),
        and_(
            Comment.review_id.is_not(None),
            Comment.review_id.in_(select(Review.id).where(visible_reviews_clause(viewer))),
        ),
        and_(
            Comment.action_id.is_not(None),
            Comment.action_id.in_(select(Action.id).where(visible_actions_clause(viewer))),
        ),
        and_(
            Comment.lesson_id.is_not(None),
            Comment.lesson_id.in_(select(lesson.id).where(visible_lessons_clause(viewer, lesson))),
        ),
    )


@dataclass
class ExportScope:
    """Row filters for one viewer's export (see the module docstring)."""

    session: Session
    viewer: Viewer
    failure_ids: set[int]
    escalation_ids: set[int]
    _clauses: dict[str, tuple[Any, ColumnElement[bool]]] = field(default_factory=dict)

    @classmethod
    def for_viewer(cls, session: Session, viewer: Viewer) -> ExportScope:
        failure_ids = set(session.scalars(select(Failure.id).where(visible_failures_clause(viewer))))
        escalations = session.scalars(select(Escalation).order_by(Escalation.id))
        escalation_ids = {e.id for e in escalations if can_see_escalation(session, viewer, e)}
        return cls(session=session, viewer=viewer, failure_ids=failure_ids, escalation_ids=escalation_ids)

    def clauses(self) -> dict[str, tuple[Any, ColumnElement[bool]]]:
        """Record type → (model, the rows to write); built once (building them is not free)."""
        if not self._clauses:
            self._clauses = self._build()
        return self._clauses

    def _build(self) -> dict[str, tuple[Any, ColumnElement[bool]]]:
        v = self.viewer
        review = aliased(Review)
        visible_plan = and_(
            visible_plans_clause(v),
            DevelopmentPlan.review_id.in_(select(review.id).where(visible_reviews_clause(v, review))),
        )
        out: dict[str, tuple[Any, ColumnElement[bool]]] = {
            name: (model, true()) for name, model in _OPEN.items()
        }
        out.update(
            {
                "assumption": (Assumption, visible_assumptions_clause(v)),
                "failure": (Failure, visible_failures_clause(v)),
                "review": (Review, visible_reviews_clause(v)),
                "action": (Action, visible_actions_clause(v)),
                "experiment": (Experiment, visible_experiments_clause(v)),
                "observation": (Observation, visible_observations_clause(v)),
                "lesson": (Lesson, visible_lessons_clause(v)),
                "escalation": (
                    Escalation,
                    Escalation.id.in_(sorted(self.escalation_ids)) if self.escalation_ids else false(),
                ),
                "coaching_note": (CoachingNote, visible_notes_clause(v)),
                "development_plan": (DevelopmentPlan, visible_plan),
                # the discussion: comments by their record's rule; the rest by their failure's
                "comment": (Comment, visible_comments_clause(v)),
                "timeline_entry": (TimelineEntry, TimelineEntry.failure_id.in_(visible_failure_ids(v))),
                "failure_link": (FailureLink, FailureLink.failure_id.in_(visible_failure_ids(v))),
                "attachment": (Attachment, Attachment.failure_id.in_(visible_failure_ids(v))),
            }
        )
        return out

    def where(self, kind: str) -> ColumnElement[bool]:
        """The SQL condition for the rows of ``kind`` to write."""
        if kind in _NEVER:
            return false()
        if kind == "history":
            return self._history()
        rule = self.clauses().get(kind)
        return rule[1] if rule is not None else false()  # a type nobody thought of: fail closed

    def _history(self) -> ColumnElement[bool]:
        parts = []
        for record_type, (model, clause) in self.clauses().items():
            ids = select(model.id).where(clause)  # history is not in it: nothing to correlate
            parts.append(and_(HistoryEntry.record_type == record_type, HistoryEntry.record_id.in_(ids)))
        return or_(*parts)

    def clean(self, kind: str, record: dict[str, Any]) -> None:
        """Drop references to failures the viewer may not see."""
        if kind == "failure" and record.get("repeat_of_id") not in self.failure_ids:
            record["repeat_of_id"] = None
        elif kind == "lesson":
            record["failures"] = [fid for fid in record.get("failures", []) if fid in self.failure_ids]
