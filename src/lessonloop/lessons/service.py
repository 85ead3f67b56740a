""" "What we learned" notes: drafted, linked to failures, published to audience teams.

``viewer`` is required: a named system job (the local CLI) is let through; with a person, reads
follow the lesson rule (``access.policy.can_see_lesson``); a new lesson may only link failures
the viewer may see and is theirs unless an org admin names another author; publishing follows
``can_edit_lesson``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import false, select
from sqlalchemy.orm import Session

from lessonloop import limits
from lessonloop.access.actor import Actor, is_person
from lessonloop.access.policy import visible_lessons_clause
from lessonloop.access.scope import require_failure_seen, require_lesson_editable, require_seen, where_visible
from lessonloop.coerce import as_datetime, as_text
from lessonloop.errors import Conflict, PermissionDenied
from lessonloop.failures.models import Failure
from lessonloop.lessons.models import Lesson, lesson_audience, lesson_failures
from lessonloop.people.service import PersonRef, TeamRef, get_person, get_team
from lessonloop.store.base import utcnow
from lessonloop.store.crud import Page, get_or_404, id_in_range, paginate


def create_lesson(
    session: Session,
    *,
    title: str,
    learned: str,
    changed: str = "",
    author: PersonRef | None = None,
    failures: Sequence[int | str] = (),
    audience: Sequence[TeamRef] = (),
    publish: bool = False,
    published_at: Any = None,
    viewer: Actor,
) -> Lesson:
    lesson = Lesson(
        title=as_text(title, "title", required=True, max_len=limits.TITLE_MAX),
        learned=as_text(learned, "learned", required=True),
        changed=as_text(changed, "changed"),
    )
    if author not in (None, ""):
        lesson.author = get_person(session, author, field="author", viewer=viewer)
        if is_person(viewer) and lesson.author.id != viewer.person_id and not viewer.is_admin:
            raise PermissionDenied("you may write a lesson as yourself only", field="author")
    elif is_person(viewer):
        lesson.author = get_person(session, viewer.person_id, field="author", viewer=viewer)
    lesson.failures = _unique(get_or_404(session, Failure, f) for f in failures)
    for linked in lesson.failures:
        require_failure_seen(viewer, linked)
    lesson.audience = _unique(get_team(session, t, field="audience", viewer=viewer) for t in audience)
    if publish or published_at:
        lesson.published_at = as_datetime(published_at, "published_at") if published_at else utcnow()
    session.add(lesson)
    session.flush()
    return lesson


def _unique(items: Any) -> list[Any]:
    seen: dict[int, Any] = {}
    for item in items:
        seen[item.id] = item
    return list(seen.values())


def get_lesson(session: Session, lesson_id: int | str, *, viewer: Actor) -> Lesson:
    """A lesson; 404 when ``viewer`` may not see it."""
    lesson = get_or_404(session, Lesson, lesson_id)
    require_seen(session, viewer, lesson)
    return lesson


def publish_lesson(session: Session, lesson_id: int | str, *, viewer: Actor) -> Lesson:
    lesson = get_or_404(session, Lesson, lesson_id)
    require_lesson_editable(viewer, lesson)
    if lesson.published_at is not None:
        raise Conflict(f"lesson {lesson.id} was published already", field="published_at")
    lesson.published_at = utcnow()
    session.flush()
    return lesson


def list_lessons(
    session: Session,
    *,
    team: TeamRef | None = None,
    failure_id: int | None = None,
    published: bool | None = None,
    page: int = 1,
    page_size: int = 50,
    viewer: Actor,
) -> Page[Lesson]:
    """Lessons, the most recently published first; only those ``viewer`` may see."""
    stmt = where_visible(select(Lesson), viewer, visible_lessons_clause(viewer))
    if team not in (None, ""):
        team_id = get_team(session, team, viewer=viewer).id
        stmt = stmt.where(
            Lesson.id.in_(select(lesson_audience.c.lesson_id).where(lesson_audience.c.team_id == team_id))
        )
    if failure_id is not None and not id_in_range(failure_id):
        stmt = stmt.where(false())
    elif failure_id is not None:
        stmt = stmt.where(
            Lesson.id.in_(
                select(lesson_failures.c.lesson_id).where(lesson_failures.c.failure_id == failure_id)
            )
        )
    if published is True:
        stmt = stmt.where(Lesson.published_at.is_not(None))
    elif published is False:
        stmt = stmt.where(Lesson.published_at.is_(None))
    stmt = stmt.order_by(Lesson.published_at.desc(), Lesson.id.desc())
    return paginate(session, stmt, page, page_size)
