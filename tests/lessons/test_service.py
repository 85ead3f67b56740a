from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from lessonloop.errors import Conflict, Invalid
from lessonloop.lessons.service import create_lesson, list_lessons, publish_lesson
from lessonloop.people.service import add_team
from tests.factories import SYSTEM, failure, team_with_people


def test_lesson_draft_publish_and_audience(session: Session) -> None:
    team_with_people(session)
    add_team(session, name="Platform", viewer=SYSTEM)
    f = failure(session)
    lesson = create_lesson(
        session,
        title="Date every external dependency",
        learned="Verbal dates slip silently",
        changed="Kickoff checklist v4 asks for a dated commitment",
        author="ana",
        failures=[f.id],
        audience=["Payments", "platform"],
        viewer=SYSTEM,
    )
    assert lesson.published_at is None
    assert list_lessons(session, published=True, viewer=SYSTEM).total == 0
    publish_lesson(session, lesson.id, viewer=SYSTEM)
    with pytest.raises(Conflict):
        publish_lesson(session, lesson.id, viewer=SYSTEM)
    assert list_lessons(session, team="Platform", published=True, viewer=SYSTEM).items[0].id == lesson.id
    assert list_lessons(session, failure_id=f.id, viewer=SYSTEM).total == 1


def test_lesson_requires_what_we_learned(session: Session) -> None:
    with pytest.raises(Invalid) as err:
        create_lesson(session, title="t", learned=" ", viewer=SYSTEM)
    assert err.value.field == "learned"
