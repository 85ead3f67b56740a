"""The dashboard's latest lessons: the first page of the published list, without its total."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from lessonloop.access.viewer import viewer_for
from lessonloop.lessons import service as lessons_service
from lessonloop.lessons.service import (
    create_lesson,
    first_lessons,
    latest_lessons,
    list_lessons,
    retract_lesson,
)
from lessonloop.people.service import add_member, add_person, add_team
from tests.factories import SYSTEM, failure, team_with_people


@pytest.mark.parametrize(("batch", "rounds"), [(20, 5), (1, 1), (1, 2), (1, 3), (1, 5)])
def test_latest_lessons_are_the_first_page_of_the_published_list_for_everyone(
    session: Session, monkeypatch: pytest.MonkeyPatch, batch: int, rounds: int
) -> None:
    # Small batches and few rounds: the newest lessons are checked a few at a time (the outsider
    # sees one in two), and past the last round the whole statement answers; each the same list.
    monkeypatch.setattr(lessons_service, "FIRST_BATCH", batch)
    monkeypatch.setattr(lessons_service, "FIRST_ROUNDS", rounds)
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


@pytest.mark.parametrize(("batch", "rounds"), [(20, 5), (1, 1), (1, 2), (2, 5)])
def test_first_lessons_of_a_team_are_the_first_page_of_its_list_drafts_included(
    session: Session, monkeypatch: pytest.MonkeyPatch, batch: int, rounds: int
) -> None:
    # The team page's lessons: drafts (no publishing day) and published ones of the team's
    # audience, the first page of list_lessons(team=...) for every viewer, in the same order on
    # each backend (drafts sort where each backend sorts a missing day).
    monkeypatch.setattr(lessons_service, "FIRST_BATCH", batch)
    monkeypatch.setattr(lessons_service, "FIRST_ROUNDS", rounds)
    org = team_with_people(session)
    other = {"team": add_team(session, name="Other", viewer=SYSTEM)}
    other["cy"] = add_person(session, name="Cy Other", handle="cy", viewer=SYSTEM)
    add_member(session, team=other["team"], person=other["cy"], role="member", viewer=SYSTEM)
    outsider = add_person(session, name="Out Sider", handle="out", viewer=SYSTEM)
    private = failure(session, visibility="private", team=org["team"].id)
    org_wide = failure(session, visibility="org")
    day = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    for i in range(9):
        create_lesson(
            session,
            title=f"Team lesson {i}",
            learned="Something learned",
            failures=[(private if i % 3 else org_wide).id],
            audience=[(org["team"] if i != 4 else other["team"]).id],
            publish=i % 4 != 3,
            published_at=day + dt.timedelta(days=i % 3),
            viewer=SYSTEM,
        )
    for who in (org["ana"], org["ben"], other["cy"], outsider):
        viewer = viewer_for(session, who)
        for team in (org["team"].id, other["team"].id):
            for limit in (1, 2, 4, 10):
                expected = list_lessons(session, team=team, page_size=limit, viewer=viewer).items
                got = first_lessons(session, team=team, limit=limit, viewer=viewer)
                assert [lesson.id for lesson in got] == [lesson.id for lesson in expected], (
                    who.handle,
                    team,
                    limit,
                )
