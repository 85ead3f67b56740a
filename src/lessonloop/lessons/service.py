""" "What we learned" notes: drafted, linked to failures, published to audience teams.

``viewer`` is required: a named system job (the local CLI) is let through; with a person, reads
follow the lesson rule (``access.policy.can_see_lesson``); a new lesson may only link failures
the viewer may see and is theirs unless an org admin names another author; publishing,
editing, unpublishing and retracting follow ``can_edit_lesson`` (404 when the viewer may not
see the lesson, 403 when they may see but not change it).

A retracted lesson (decision 38) keeps its text, its publication date and its history, and its
own page still opens (with the reason); it is no longer listed (:func:`list_lessons` leaves it
out unless asked for retracted ones), sent in digests or counted as a learning, and it cannot be
edited, published or unpublished.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, false, select
from sqlalchemy.orm import Session

from lessonloop import limits
from lessonloop.access.actor import Actor, is_person, is_system
from lessonloop.access.policy import can_see_failure, visible_lessons_clause
from lessonloop.access.scope import require_failure_seen, require_lesson_editable, require_seen, where_visible
from lessonloop.coerce import as_datetime, as_text
from lessonloop.errors import Conflict, Invalid, PermissionDenied
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


def get_editable_lesson(session: Session, lesson_id: int | str, *, viewer: Actor) -> Lesson:
    """The lesson if ``viewer`` may change it: 404 when they may not see it, 403 when they may see
    but not change it."""
    lesson = get_or_404(session, Lesson, lesson_id)
    require_lesson_editable(viewer, lesson)
    return lesson


def _require_not_retracted(lesson: Lesson, verb: str) -> None:
    if lesson.retracted_at is not None:
        raise Conflict(f"lesson {lesson.id} was retracted; it cannot be {verb}", field="retracted_at")


EDITABLE_LESSON_FIELDS = frozenset({"title", "learned", "changed", "failures", "audience"})


def edit_lesson(
    session: Session, lesson_id: int | str, changes: Mapping[str, Any], *, viewer: Actor
) -> Lesson:
    """Correct a lesson's title, text, audience teams or linked failures; only the fields in
    ``changes`` change, and the history records who changed what.

    ``failures`` is the list of linked failures *the viewer may see*: a failure they may not see
    stays linked whatever they send (they cannot tell it is there), and only failures they may
    see can be added."""
    lesson = get_editable_lesson(session, lesson_id, viewer=viewer)
    _require_not_retracted(lesson, "edited")
    unknown = set(changes) - EDITABLE_LESSON_FIELDS
    if unknown:
        raise Invalid("cannot be changed", field=sorted(unknown)[0])
    # Look everything up first, then assign: a lookup's autoflush must not split one edit into
    # several history rows.
    new: dict[str, Any] = {}
    for key, value in changes.items():
        if key == "title":
            new[key] = as_text(value, "title", required=True, max_len=limits.TITLE_MAX)
        elif key == "learned":
            new[key] = as_text(value, "learned", required=True)
        elif key == "changed":
            new[key] = as_text(value, "changed")
        elif key == "failures":
            hidden = [f for f in lesson.failures if not _sees(viewer, f)]
            chosen = _unique(get_or_404(session, Failure, f) for f in value or ())
            for linked in chosen:
                require_failure_seen(viewer, linked)
            failures = _unique([*hidden, *chosen])
            if sorted(f.id for f in failures) != sorted(f.id for f in lesson.failures):
                new[key] = failures
        elif key == "audience":
            teams = _unique(get_team(session, t, field="audience", viewer=viewer) for t in value or ())
            if sorted(t.id for t in teams) != sorted(t.id for t in lesson.audience):
                new[key] = teams
    with session.no_autoflush:
        for key, value in new.items():
            setattr(lesson, key, value)
    session.flush()
    return lesson


def _sees(viewer: Actor, failure: Failure) -> bool:
    return is_system(viewer) or can_see_failure(viewer, failure)


def unpublish_lesson(session: Session, lesson_id: int | str, *, viewer: Actor) -> Lesson:
    """Take a published lesson back to a draft (409 if it is a draft or retracted)."""
    lesson = get_editable_lesson(session, lesson_id, viewer=viewer)
    _require_not_retracted(lesson, "unpublished")
    if lesson.published_at is None:
        raise Conflict(f"lesson {lesson.id} is a draft already", field="published_at")
    lesson.published_at = None
    session.flush()
    return lesson


def retract_lesson(session: Session, lesson_id: int | str, *, reason: str, viewer: Actor) -> Lesson:
    """Withdraw a published lesson with a written reason: it stays, with its history, but is no
    longer listed or sent as a learning (409 for a draft — unpublish or edit it instead — and
    for a lesson retracted already)."""
    lesson = get_editable_lesson(session, lesson_id, viewer=viewer)
    _require_not_retracted(lesson, "retracted again")
    if lesson.published_at is None:
        raise Conflict(
            f"lesson {lesson.id} is a draft: only a published lesson is retracted", field="published_at"
        )
    lesson.retraction_reason = as_text(reason, "reason", required=True)
    lesson.retracted_at = utcnow()
    session.flush()
    return lesson


def publish_lesson(session: Session, lesson_id: int | str, *, viewer: Actor) -> Lesson:
    lesson = get_or_404(session, Lesson, lesson_id)
    require_lesson_editable(viewer, lesson)
    _require_not_retracted(lesson, "published")
    if lesson.published_at is not None:
        raise Conflict(f"lesson {lesson.id} was published already", field="published_at")
    lesson.published_at = utcnow()
    session.flush()
    return lesson


def _lessons(
    session: Session,
    stmt: Select[Any],
    *,
    team: TeamRef | None,
    failure_id: int | None,
    published: bool | None,
    retracted: bool,
    viewer: Actor,
) -> Select[Any]:
    """``stmt`` (a select of lessons or their columns) with the lists' filters, in their order:
    the most recently published first."""
    stmt = stmt.where(Lesson.retracted_at.is_not(None) if retracted else Lesson.retracted_at.is_(None))
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
    return stmt.order_by(Lesson.published_at.desc(), Lesson.id.desc())


def list_lessons(
    session: Session,
    *,
    team: TeamRef | None = None,
    failure_id: int | None = None,
    published: bool | None = None,
    retracted: bool = False,
    page: int = 1,
    page_size: int = 50,
    viewer: Actor,
) -> Page[Lesson]:
    """Lessons, the most recently published first; only those ``viewer`` may see. Retracted
    lessons are left out; ``retracted=True`` lists only them."""
    stmt = where_visible(select(Lesson), viewer, visible_lessons_clause(viewer))
    filters: dict[str, Any] = {
        "team": team,
        "failure_id": failure_id,
        "published": published,
        "retracted": retracted,
    }
    return paginate(session, _lessons(session, stmt, **filters, viewer=viewer), page, page_size)


#: How many lessons, in the lists' order, :func:`first_lessons` checks against a person's rule at
#: first (twice as many each time after), and how many such rounds before it asks for the whole
#: filtered order instead (a person who sees few of the lessons).
FIRST_BATCH = 20
FIRST_ROUNDS = 5


def first_lessons(
    session: Session,
    *,
    limit: int,
    team: TeamRef | None = None,
    published: bool | None = None,
    viewer: Actor,
) -> list[Lesson]:
    """The first ``limit`` lessons of ``list_lessons`` with the same filters, without its total:
    for pages that show a few (the dashboard's latest, a team's lessons).

    For a person the lessons are read in the lists' order a batch at a time, and the rule is
    checked for that batch only (decision 65). One statement with the rule and ``LIMIT`` gives
    the same lessons, but PostgreSQL planned the rule's "sees one of its failures" as a hashed
    subplan over *every* lesson's failures before reading the first lesson: 170–350 ms at 1M
    failures (20,000 lessons), where checking 20 lessons costs a millisecond. Batches follow one
    another by offset: a lesson published between two of them is read twice and shown once; one
    deleted or retracted in between can leave the lesson after it unread in that request (the
    next request reads it).
    """
    limit = max(limit, 0)
    filters: dict[str, Any] = {"team": team, "failure_id": None, "published": published, "retracted": False}
    if limit == 0:
        return []
    if not is_person(viewer):
        return list(session.scalars(_lessons(session, select(Lesson), **filters, viewer=viewer).limit(limit)))
    in_order = _lessons(session, select(Lesson.id), **filters, viewer=viewer)
    chosen: list[int] = []
    read, batch = 0, max(FIRST_BATCH, 2 * limit)
    for _round in range(FIRST_ROUNDS):
        ids = [int(i) for i in session.scalars(in_order.offset(read).limit(batch))]
        rule = visible_lessons_clause(viewer)
        seen = set(session.scalars(select(Lesson.id).where(Lesson.id.in_(ids), rule))) if ids else set()
        chosen += [i for i in ids if i in seen and i not in chosen]
        if len(chosen) >= limit or len(ids) < batch:
            wanted = chosen[:limit]
            by_id = {
                lesson.id: lesson for lesson in session.scalars(select(Lesson).where(Lesson.id.in_(wanted)))
            }
            return [by_id[i] for i in wanted if i in by_id]  # gone since: not shown
        read, batch = read + batch, batch * 2
    stmt = where_visible(select(Lesson), viewer, visible_lessons_clause(viewer))
    return list(session.scalars(_lessons(session, stmt, **filters, viewer=viewer).limit(limit)))


def latest_lessons(session: Session, *, limit: int = 5, viewer: Actor) -> list[Lesson]:
    """The ``limit`` most recently published lessons ``viewer`` may see (not retracted): the
    first page of ``list_lessons(published=True)`` without its total. The dashboard shows no
    total, and counting every visible lesson was one of its slowest statements on PostgreSQL
    (40–60 ms at 100k failures: the rule checks each lesson's failures; decision 54)."""
    return first_lessons(session, limit=limit, published=True, viewer=viewer)
