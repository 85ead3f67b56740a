"""Editing, unpublishing and retracting a lesson: the service rules and who may (the API:
``tests/api/test_revising.py``; the pages: ``tests/web/test_revising_pages.py``)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from lessonloop.access import viewer_for
from lessonloop.errors import Conflict, Invalid, NotFound, PermissionDenied
from lessonloop.lessons.service import (
    create_lesson,
    edit_lesson,
    get_lesson,
    list_lessons,
    retract_lesson,
    unpublish_lesson,
)
from lessonloop.people.service import add_member, add_person, add_team, get_person
from lessonloop.store.history import list_history
from tests.factories import SYSTEM, failure, team_with_people


def _viewer(session: Session, handle: str):  # type: ignore[no-untyped-def]
    return viewer_for(session, get_person(session, handle, viewer=SYSTEM))


def _lesson(session: Session, *, publish: bool = True, **kw: object) -> int:
    people = team_with_people(session)
    f = failure(session, team=people["team"].id, reporter="ana", visibility="team")
    lesson = create_lesson(
        session,
        title="Date every dependency",
        learned="Verbal dates slip",
        author="ana",
        failures=[f.id],
        audience=["Payments"],
        publish=publish,
        viewer=SYSTEM,
        **kw,  # type: ignore[arg-type]
    )
    return lesson.id


def test_an_edit_changes_only_what_is_sent_and_is_in_the_history(session: Session) -> None:
    lid = _lesson(session)
    add_team(session, name="Growth", viewer=SYSTEM)
    edit_lesson(
        session,
        lid,
        {"title": "Date every external dependency", "audience": ["Payments", "Growth"]},
        viewer=_viewer(session, "ana"),
    )
    lesson = get_lesson(session, lid, viewer=SYSTEM)
    assert lesson.title == "Date every external dependency" and lesson.learned == "Verbal dates slip"
    assert sorted(t.name for t in lesson.audience) == ["Growth", "Payments"]
    last = list_history(session, "lesson", lid)[-1]
    assert (last.action, last.actor) == ("update", "tester")
    assert last.changes["title"] == ["Date every dependency", "Date every external dependency"]
    assert [t for t in last.changes["audience"]["added"]]


def test_failures_the_editor_may_not_see_stay_linked(session: Session) -> None:
    lid = _lesson(session)
    hidden = failure(session, title="Private slip", visibility="private", reporter="ben")
    seen = failure(session, title="Org slip", visibility="org")
    lesson = get_lesson(session, lid, viewer=SYSTEM)
    lesson.failures.append(hidden)
    session.flush()
    ana = _viewer(session, "ana")  # the author; not involved in ben's private failure
    edit_lesson(session, lid, {"failures": [seen.id]}, viewer=ana)
    assert sorted(f.id for f in get_lesson(session, lid, viewer=SYSTEM).failures) == sorted(
        [hidden.id, seen.id]
    )
    with pytest.raises(NotFound):  # adding one the editor may not see is a 404 like a missing id
        edit_lesson(session, lid, {"failures": [seen.id, hidden.id]}, viewer=ana)


def test_a_viewer_who_may_see_but_not_change_gets_403_and_a_hidden_lesson_404(session: Session) -> None:
    lid = _lesson(session)
    with pytest.raises(PermissionDenied):
        edit_lesson(session, lid, {"title": "Mine now"}, viewer=_viewer(session, "ben"))  # a member
    outsider = add_person(session, name="Olga Out", handle="olga", viewer=SYSTEM)
    other = add_team(session, name="Other", viewer=SYSTEM)
    add_member(session, team=other, person=outsider, role="lead", viewer=SYSTEM)
    for change in (
        lambda v: edit_lesson(session, lid, {"title": "x"}, viewer=v),
        lambda v: unpublish_lesson(session, lid, viewer=v),
        lambda v: retract_lesson(session, lid, reason="wrong", viewer=v),
    ):
        with pytest.raises(NotFound):
            change(_viewer(session, "olga"))


def test_unpublish_takes_a_published_lesson_back_to_a_draft(session: Session) -> None:
    lid = _lesson(session)
    assert unpublish_lesson(session, lid, viewer=_viewer(session, "ana")).published_at is None
    with pytest.raises(Conflict):
        unpublish_lesson(session, lid, viewer=SYSTEM)
    assert list_lessons(session, published=True, viewer=SYSTEM).total == 0


def test_a_retracted_lesson_keeps_its_reason_and_is_no_longer_listed(session: Session) -> None:
    lid = _lesson(session)
    lesson = retract_lesson(session, lid, reason="  The vendor dates were never the cause ", viewer=SYSTEM)
    assert lesson.retracted_at is not None and lesson.published_at is not None
    assert lesson.retraction_reason == "The vendor dates were never the cause"
    assert list_lessons(session, viewer=SYSTEM).total == 0
    assert [x.id for x in list_lessons(session, retracted=True, viewer=SYSTEM).items] == [lid]
    assert get_lesson(session, lid, viewer=_viewer(session, "ben")).id == lid  # its page still opens
    assert list_history(session, "lesson", lid)[-1].changes["retraction_reason"][1].startswith("The vendor")
    for undo in (
        lambda: edit_lesson(session, lid, {"title": "x"}, viewer=SYSTEM),
        lambda: unpublish_lesson(session, lid, viewer=SYSTEM),
        lambda: retract_lesson(session, lid, reason="again", viewer=SYSTEM),
    ):
        with pytest.raises(Conflict):
            undo()


def test_only_a_published_lesson_is_retracted_and_with_a_reason(session: Session) -> None:
    draft = _lesson(session, publish=False)
    with pytest.raises(Conflict):
        retract_lesson(session, draft, reason="wrong", viewer=SYSTEM)
    unpublish = create_lesson(session, title="t", learned="l", publish=True, viewer=SYSTEM)
    with pytest.raises(Invalid) as err:
        retract_lesson(session, unpublish.id, reason=" ", viewer=SYSTEM)
    assert err.value.field == "reason"
