from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from lessonloop.errors import Conflict, Invalid
from lessonloop.lessons.service import create_lesson, list_lessons, publish_lesson
from lessonloop.people.service import add_team
from tests.factories import failure, team_with_people


def test_lesson_draft_publish_and_audience(session: Session) -> None:
    team_with_people(session)
    add_team(session, name="Platform")
    f = failure(session)
    lesson = create_lesson(
        session,
        title="Date every external dependency",
        learned="Verbal dates slip silently",
        changed="Kickoff checklist v4 asks for a dated commitment",
        author="ana",
        failures=[f.id],
        audience=["Payments", "platform"],
    )
    assert lesson.published_at is None
    assert list_lessons(session, published=True).total == 0
    publish_lesson(session, lesson.id)
    with pytest.raises(Conflict):
        publish_lesson(session, lesson.id)
    assert list_lessons(session, team="Platform", published=True).items[0].id == lesson.id
    assert list_lessons(session, failure_id=f.id).total == 1


def test_lesson_requires_what_we_learned(session: Session) -> None:
    with pytest.raises(Invalid) as err:
        create_lesson(session, title="t", learned=" ")
    assert err.value.field == "learned"
