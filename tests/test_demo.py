"""The demo workspace: built through the services, every stage of the loop, refuses to overwrite."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import select

from lessonloop.actions.models import Action
from lessonloop.demo import DemoSummary, build_demo, workspace_is_empty
from lessonloop.errors import Conflict
from lessonloop.escalations.models import Escalation
from lessonloop.experiments.service import experiment_verdict, list_experiments
from lessonloop.failures.models import Failure, FailureKind
from lessonloop.failures.service import log_failure, loop_facts
from lessonloop.followthrough.checklists import checklist_history
from lessonloop.followthrough.guardrails import list_guardrails
from lessonloop.followthrough.recognition import recognition_counts
from lessonloop.lessons.models import Lesson
from lessonloop.people.models import Membership, Person, Team
from lessonloop.reviews.models import Review
from lessonloop.store.engine import Database
from lessonloop.store.history import HistoryEntry
from tests.factories import SYSTEM


def test_demo_fills_an_empty_workspace_with_every_stage(db: Database) -> None:
    with db.unit() as session:
        assert workspace_is_empty(session)
    with db.unit(actor="demo") as session:
        summary = build_demo(session)
    assert isinstance(summary, DemoSummary)
    assert summary.as_dict() == {
        "teams": 4,
        "people": 8,
        "failures": 12,
        "reviews": 9,
        "actions": 11,
        "experiments": 4,
        "observations": 8,
        "lessons": 4,
    }
    today = dt.date.today()
    with db.unit() as session:
        assert not workspace_is_empty(session)
        assert len({m.role for m in session.scalars(select(Membership))}) == 3
        assert len(list(session.scalars(select(Team)))) == 4
        assert len(list(session.scalars(select(Person)))) == 8

        failures = list(session.scalars(select(Failure)))
        statuses = Counter(f.status for f in failures)
        assert set(statuses) == {"observed", "in-review", "acting", "re-evaluating", "learned", "repeated"}
        assert statuses["learned"] == 3 and statuses["repeated"] == 1
        assert {FailureKind(f.kind) for f in failures} >= set(FailureKind) - {FailureKind.other}
        repeat = next(f for f in failures if f.status == "repeated")
        assert repeat.repeat_of_id is not None
        for failure in failures:
            if failure.status == "learned":  # the loop's rule held for every learned failure
                facts = loop_facts(session, failure, viewer=SYSTEM)
                assert facts.review_completed and facts.primary_action_closed

        reviews = list(session.scalars(select(Review)))
        assert Counter(r.status for r in reviews) == {"completed": 7, "draft": 2}
        for review in reviews:
            failure = session.get(Failure, review.failure_id)
            assert failure is not None
            if review.completed_at is not None:
                assert review.completed_at >= failure.detected_at

        actions = list(session.scalars(select(Action)))
        assert all(a.owner_id for a in actions)
        assert sum(a.is_overdue(today) for a in actions) == 2
        done = [a for a in actions if a.status == "done"]
        assert len(done) >= 5 and all(a.evidence.strip() for a in done)
        dropped = [a for a in actions if a.status == "dropped"]
        assert len(dropped) == 1 and dropped[0].drop_reason.strip()

        verdicts = Counter(experiment_verdict(e).value for e in list_experiments(session, viewer=SYSTEM))
        assert set(verdicts) == {"passed", "failed", "inconclusive"}

        # Re-evaluate and follow through: a persistent pattern escalated, a checklist revision
        # that remembers its failure, a guardrail, recognition for learning.
        escalations = list(session.scalars(select(Escalation)))
        assert len(escalations) == 1 and escalations[0].count == 3 and escalations[0].owner_id
        revisions = checklist_history(session, "Project kickoff", viewer=SYSTEM)
        assert [r.version for r in revisions] == [1, 2] and revisions[1].failure_id is not None
        assert len(list_guardrails(session, viewer=SYSTEM)) == 1
        assert recognition_counts(session, viewer=SYSTEM)["total"] == 3

        lessons = list(session.scalars(select(Lesson)))
        assert all(lesson.audience for lesson in lessons)
        assert sum(lesson.published_at is not None for lesson in lessons) == 3
        handoff = next(lesson for lesson in lessons if repeat in lesson.failures)
        assert handoff.published_at is not None and handoff.published_at < repeat.detected_at

        assert {h.actor for h in session.scalars(select(HistoryEntry))} == {"demo"}


def test_demo_refuses_a_workspace_that_is_not_empty(db: Database) -> None:
    with db.unit() as session:
        log_failure(session, title="Somebody was here first", viewer=SYSTEM)
    with db.unit() as session, pytest.raises(Conflict, match="not empty"):
        build_demo(session)
    with db.unit() as session:
        assert len(list(session.scalars(select(Failure)))) == 1


def test_demo_twice_is_refused(db: Database) -> None:
    with db.unit() as session:
        build_demo(session)
    with db.unit() as session, pytest.raises(Conflict):
        build_demo(session)
