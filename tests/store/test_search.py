"""The full-text index is kept in step with every write, on both backends."""

from __future__ import annotations

from sqlalchemy.orm import Session

from lessonloop.failures.service import delete_failure, update_failure
from lessonloop.lessons.service import create_lesson
from lessonloop.search.service import search
from lessonloop.store.search import fts5_query
from tests.factories import SYSTEM, failure, reviewed, team_with_people


def test_new_failure_is_searchable_and_ranked(session: Session) -> None:
    failure(
        session,
        title="Rollback plan missing for the sync feature",
        observation="rare data loss in edge cases",
    )
    failure(
        session,
        title="Pricing change caused churn",
        observation="customers left after the pricing page change",
    )
    hits = search(session, "data loss", viewer=SYSTEM)
    assert [h.title for h in hits] == ["Rollback plan missing for the sync feature"]
    assert hits[0].kind == "failure" and "[" in hits[0].snippet


def test_update_and_delete_keep_index_in_step(session: Session) -> None:
    f = failure(session, title="Hand-off broke between design and QA")
    assert (
        search(session, "handoff", viewer=SYSTEM) == []
        and len(search(session, "hand off", viewer=SYSTEM)) == 1
    )
    update_failure(session, f.id, {"title": "Release notes were never written"}, viewer=SYSTEM)
    assert search(session, "design", viewer=SYSTEM) == []
    assert len(search(session, "release notes", viewer=SYSTEM)) == 1
    update_failure(session, f.id, {"labels": ["documentation"]}, viewer=SYSTEM)
    assert len(search(session, "documentation", viewer=SYSTEM)) == 1
    delete_failure(session, f.id, viewer=SYSTEM)
    assert search(session, "release", viewer=SYSTEM) == []


def test_reviews_assumptions_and_lessons_are_searchable(session: Session) -> None:
    team_with_people(session)
    f = failure(session)
    reviewed(
        session,
        f,
        root_cause="Forecast model trained on pre-pandemic seasonality",
        assumptions=["Seasonality is stable"],
    )
    create_lesson(
        session,
        title="Retrain quarterly",
        learned="Seasonality drifts; retrain the forecast each quarter",
        viewer=SYSTEM,
    )
    kinds = {h.kind for h in search(session, "seasonality", viewer=SYSTEM)}
    assert kinds == {"review", "assumption", "lesson"}
    assert {h.kind for h in search(session, "seasonality", kinds=["lesson"], viewer=SYSTEM)} == {"lesson"}


def test_user_input_cannot_break_the_query(session: Session) -> None:
    failure(session, title='NEAR OR AND quotes " and stars *')
    assert search(session, '"unbalanced AND ( * NEAR', viewer=SYSTEM) == []
    assert len(search(session, "quotes stars", viewer=SYSTEM)) == 1
    assert search(session, "   ", viewer=SYSTEM) == []
    assert fts5_query('a "b"') == '"a" "b"'
