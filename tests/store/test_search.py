"""The full-text index is kept in step with every write, on both backends."""

from __future__ import annotations

from sqlalchemy.orm import Session

from lessonloop.failures.service import delete_failure, update_failure
from lessonloop.lessons.service import create_lesson
from lessonloop.store.search import fts5_query, search
from tests.factories import failure, reviewed, team_with_people


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
    hits = search(session, "data loss")
    assert [h.title for h in hits] == ["Rollback plan missing for the sync feature"]
    assert hits[0].kind == "failure" and "[" in hits[0].snippet


def test_update_and_delete_keep_index_in_step(session: Session) -> None:
    f = failure(session, title="Hand-off broke between design and QA")
    assert search(session, "handoff") == [] and len(search(session, "hand off")) == 1
    update_failure(session, f.id, {"title": "Release notes were never written"})
    assert search(session, "design") == []
    assert len(search(session, "release notes")) == 1
    update_failure(session, f.id, {"labels": ["documentation"]})
    assert len(search(session, "documentation")) == 1
    delete_failure(session, f.id)
    assert search(session, "release") == []


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
        session, title="Retrain quarterly", learned="Seasonality drifts; retrain the forecast each quarter"
    )
    kinds = {h.kind for h in search(session, "seasonality")}
    assert kinds == {"review", "assumption", "lesson"}
    assert {h.kind for h in search(session, "seasonality", kinds=["lesson"])} == {"lesson"}


def test_user_input_cannot_break_the_query(session: Session) -> None:
    failure(session, title='NEAR OR AND quotes " and stars *')
    assert search(session, '"unbalanced AND ( * NEAR') == []
    assert len(search(session, "quotes stars")) == 1
    assert search(session, "   ") == []
    assert fts5_query('a "b"') == '"a" "b"'
