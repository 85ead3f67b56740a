"""The dashboard's latest lessons: the first page of the published list, without its total."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from lessonloop.access.viewer import viewer_for
from lessonloop.lessons import service as lessons_service
from lessonloop.lessons.service import create_lesson, latest_lessons, list_lessons, retract_lesson
from lessonloop.people.service import add_person
from tests.factories import SYSTEM, failure, team_with_people


@pytest.mark.parametrize(("batch", "rounds"), [(20, 5), (1, 1), (1, 2), (1, 3), (1, 5)])
def test_latest_lessons_are_the_first_page_of_the_published_list_for_everyone(
    session: Session, monkeypatch: pytest.MonkeyPatch, batch: int, rounds: int
) -> None:
    # Small batches and few rounds: the newest lessons are checked a few at a time (the outsider
    # sees one in two), and past the last round the whole statement answers; each the same list.
    monkeypatch.setattr(lessons_service, "LATEST_BATCH", batch)
    monkeypatch.setattr(lessons_service, "LATEST_ROUNDS", rounds)
    org = team_with_people(session)
    outsider = add_person(session, name="Out Sider", handle="out", viewer=SYSTEM)
    private = failure(session, visibility="private", team=org["team"].id)
    org_wide = failure(session, visibility="org")
    day = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    made = []
    for i in range(8):
        made.append(
            create_lesson(
                session,
                title=f"Lesson {i}",
                learned="Something learned",
                failures=[(private if i % 2 else org_wide).id],
                publish=i != 7,  # one draft
                published_at=day + dt.timedelta(days=i % 4),  # ties broken by id
                viewer=SYSTEM,
            )
        )
    retract_lesson(session, made[6].id, reason="superseded", viewer=SYSTEM)
    for who in (org["ana"], org["ben"], outsider):
        viewer = viewer_for(session, who)
        for limit in (1, 2, 3, 5, 20):
            expected = list_lessons(session, published=True, page_size=limit, viewer=viewer).items
            assert [lesson.id for lesson in latest_lessons(session, limit=limit, viewer=viewer)] == [
                lesson.id for lesson in expected
            ]
    # The outsider sees only the lessons of the org-wide failure; the lead the private ones too.
    assert {
        lesson.id for lesson in latest_lessons(session, limit=20, viewer=viewer_for(session, outsider))
    } == {made[i].id for i in (0, 2, 4)}
    lead_sees = {
        lesson.id for lesson in latest_lessons(session, limit=20, viewer=viewer_for(session, org["ana"]))
    }
    assert {made[i].id for i in (1, 3, 5)} <= lead_sees and made[6].id not in lead_sees
