"""Versioned checklists, templates and decision criteria.

Every revision stores the full list of items (never a patch), who wrote it and why, and — for
every version after the first — the failure that prompted it (and optionally the lesson). A
revision that changes nothing is refused, so the history only holds real changes.

Everyone signed in reads checklists; creating or revising one is a policy rule
(:func:`~lessonloop.access.policy.can_change_checklist`): every checklist is org-wide, so org
admins (and system jobs: the CLI, the demo) do it, others get 403. With a viewer, the failures and
lessons a revision points at are only named when the viewer may see them.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor, is_person, is_system, require_actor
from lessonloop.access.policy import can_change_checklist, can_see_failure, can_see_lesson
from lessonloop.access.scope import require_failure_seen
from lessonloop.coerce import as_enum, as_text
from lessonloop.errors import Conflict, Invalid, NotFound, PermissionDenied
from lessonloop.failures.models import Failure
from lessonloop.followthrough.models import Checklist, ChecklistKind, ChecklistRevision
from lessonloop.lessons.models import Lesson
from lessonloop.people.models import Person
from lessonloop.people.service import PersonRef, get_person
from lessonloop.store.crud import get_or_404

MAX_ITEMS = 200


class RevisionOut(BaseModel):
    checklist: str
    kind: str
    version: int
    items: list[str]
    reason: str
    author: str | None
    failure_id: int | None  # the prompting failure's number (kept after it is deleted)
    failure_title: str | None  # None when deleted or not visible to the viewer
    lesson_id: int | None
    lesson_title: str | None
    created_at: dt.datetime | None


class ChecklistOut(BaseModel):
    id: int
    name: str
    kind: str
    version: int
    items: list[str]
    revisions: int
    shaped_by: list[int]


def clean_items(items: Iterable[Any]) -> list[str]:
    out = [" ".join(str(item).split()) for item in items]
    out = [item for item in out if item]
    if not out:
        raise Invalid("give at least one item", field="items")
    if len(out) > MAX_ITEMS:
        raise Invalid(f"at most {MAX_ITEMS} items", field="items")
    for item in out:
        if len(item) > 2000:
            raise Invalid("an item is longer than 2000 characters", field="items")
    return out


def get_checklist(session: Session, ref: int | str | Checklist, *, viewer: Actor) -> Checklist:
    """A checklist by id or name (case-insensitive)."""
    require_actor(viewer)
    if isinstance(ref, Checklist):
        return ref
    raw = str(ref).strip()
    if not raw:
        raise Invalid("is required", field="checklist")
    checklist = session.scalar(select(Checklist).where(func.lower(Checklist.name) == raw.lower()))
    if checklist is None and raw.isdigit():
        checklist = session.get(Checklist, int(raw))
    if checklist is None:
        raise NotFound(f"no checklist {raw!r} (use its name or id)", field="checklist")
    return checklist


def list_checklists(session: Session, *, kind: str | None = None, viewer: Actor) -> list[Checklist]:
    require_actor(viewer)
    stmt = select(Checklist).order_by(Checklist.name)
    if kind:
        stmt = stmt.where(Checklist.kind == as_enum(kind, ChecklistKind, "kind").value)
    return list(session.scalars(stmt))


def require_checklist_changer(viewer: Actor, team_id: int | None = None) -> None:
    """403 unless ``viewer`` may create or revise a checklist of ``team_id`` (``None``: org-wide,
    which every checklist is today — the table has no team yet): org admins, and for a team's
    checklist its leads and admins (:func:`~lessonloop.access.policy.can_change_checklist`).
    Everyone may read checklists; changing one changes how every team works."""
    if not is_system(viewer) and not can_change_checklist(viewer, team_id):
        raise PermissionDenied("only an org admin may change an org-wide checklist", field="checklist")


def _link(
    session: Session, failure_id: int | str | None, lesson_id: int | str | None, viewer: Actor
) -> tuple[Failure | None, Lesson | None]:
    failure = lesson = None
    if failure_id not in (None, ""):
        failure = get_or_404(session, Failure, failure_id)
        require_failure_seen(viewer, failure)
    if lesson_id not in (None, ""):
        lesson = get_or_404(session, Lesson, lesson_id)
        if is_person(viewer) and not can_see_lesson(viewer, lesson):
            raise NotFound(f"no lesson with id {lesson.id}", field="lesson_id")
    return failure, lesson


def create_checklist(
    session: Session,
    *,
    name: str,
    items: Sequence[Any],
    kind: str | ChecklistKind = ChecklistKind.checklist,
    author: PersonRef | None = None,
    reason: str = "",
    failure_id: int | str | None = None,
    lesson_id: int | str | None = None,
    viewer: Actor,
) -> Checklist:
    """Version 1. A first version may name a failure or lesson, but need not. Org admins only
    (checklists are org-wide)."""
    require_checklist_changer(viewer)
    name = as_text(name, "name", required=True, max_len=200)
    if name.isdigit():
        raise Invalid("a name cannot be only digits (it would read as an id)", field="name")
    if session.scalar(select(Checklist.id).where(func.lower(Checklist.name) == name.lower())) is not None:
        raise Conflict(f"a checklist named {name!r} exists already", field="name")
    failure, lesson = _link(session, failure_id, lesson_id, viewer)
    writer = get_person(session, author, field="author", viewer=viewer) if author not in (None, "") else None
    clean = clean_items(items)
    checklist = Checklist(name=name, kind=as_enum(kind, ChecklistKind, "kind").value)
    session.add(checklist)
    _add_revision(
        session,
        checklist,
        items=clean,
        reason=as_text(reason, "reason") or "first version",
        author=writer,
        failure=failure,
        lesson=lesson,
    )
    return checklist


def revise_checklist(
    session: Session,
    checklist: int | str | Checklist,
    *,
    items: Sequence[Any],
    reason: str,
    failure_id: int | str | None,
    lesson_id: int | str | None = None,
    author: PersonRef | None = None,
    viewer: Actor,
) -> ChecklistRevision:
    """A new version. It must say which failure prompted it and why, and must change something.
    Org admins only (checklists are org-wide); 403 for others."""
    target = get_checklist(session, checklist, viewer=viewer)
    require_checklist_changer(viewer)
    if failure_id in (None, ""):
        raise Invalid(
            "a revision must name the failure that prompted it (--because-of FAILURE_ID)",
            field="failure_id",
        )
    reason = as_text(reason, "reason", required=True)
    failure, lesson = _link(session, failure_id, lesson_id, viewer)
    new_items = clean_items(items)
    if new_items == target.latest.items:
        raise Conflict(
            f"the items are the same as version {target.latest.version} of {target.name}", field="items"
        )
    writer = get_person(session, author, field="author", viewer=viewer) if author not in (None, "") else None
    return _add_revision(
        session, target, items=new_items, reason=reason, author=writer, failure=failure, lesson=lesson
    )


def _add_revision(
    session: Session,
    checklist: Checklist,
    *,
    items: list[str],
    reason: str,
    author: Person | None,
    failure: Failure | None,
    lesson: Lesson | None,
) -> ChecklistRevision:
    version = (checklist.revisions[-1].version + 1) if checklist.revisions else 1
    revision = ChecklistRevision(
        version=version,
        items=items,
        reason=reason,
        failure_id=failure.id if failure else None,
        failure_ref=failure.id if failure else None,
        lesson_id=lesson.id if lesson else None,
        author=author,
    )
    checklist.revisions.append(revision)
    session.flush()
    return revision


def get_revision(
    session: Session, checklist: int | str | Checklist, version: int | str | None = None, *, viewer: Actor
) -> ChecklistRevision:
    require_actor(viewer)
    target = get_checklist(session, checklist, viewer=viewer)
    if version in (None, ""):
        return target.latest
    try:
        number = int(version)
    except (TypeError, ValueError):
        raise Invalid(f"must be a number, got {version!r}", field="version") from None
    for revision in target.revisions:
        if revision.version == number:
            return revision
    raise NotFound(
        f"{target.name} has no version {number} (versions 1–{target.latest.version})", field="version"
    )


def diff_versions(
    session: Session, checklist: int | str | Checklist, old: int | str, new: int | str, *, viewer: Actor
) -> str:
    """A unified diff of the items of two versions (one item per line); empty when equal."""
    require_actor(viewer)
    a = get_revision(session, checklist, old, viewer=viewer)
    b = get_revision(session, checklist, new, viewer=viewer)
    name = a.checklist.name
    lines = difflib.unified_diff(
        a.items, b.items, fromfile=f"{name} v{a.version}", tofile=f"{name} v{b.version}", lineterm=""
    )
    return "\n".join(lines)


def checklist_history(
    session: Session, checklist: int | str | Checklist, *, viewer: Actor
) -> list[ChecklistRevision]:
    require_actor(viewer)
    return list(get_checklist(session, checklist, viewer=viewer).revisions)


def revisions_because_of(
    session: Session, failure_id: int | str, *, viewer: Actor
) -> list[ChecklistRevision]:
    """Every revision prompted by failure #N (found by its number, even after a deletion)."""
    try:
        number = int(failure_id)
    except (TypeError, ValueError):
        raise Invalid(f"failure id must be a number, got {failure_id!r}", field="failure_id") from None
    failure = session.get(Failure, number)
    if failure is not None:
        require_failure_seen(viewer, failure)
    elif is_person(viewer):
        return []  # a deleted failure's consequences are for system jobs only
    stmt = (
        select(ChecklistRevision)
        .where(ChecklistRevision.failure_ref == number)
        .order_by(ChecklistRevision.checklist_id, ChecklistRevision.version)
    )
    return list(session.scalars(stmt))


def shaping_failures(session: Session, checklist: int | str | Checklist, *, viewer: Actor) -> list[int]:
    """The numbers of the failures that prompted a revision of this checklist, oldest first: for a
    person only those they may see now (a system job also gets deleted ones' numbers)."""
    seen: dict[int, None] = {}
    for revision in get_checklist(session, checklist, viewer=viewer).revisions:
        if revision.failure_ref is None:
            continue
        if is_person(viewer) and prompted_by(session, revision, viewer) is None:
            continue
        seen[revision.failure_ref] = None
    return list(seen)


def prompted_by(session: Session, revision: ChecklistRevision, viewer: Actor) -> Failure | None:
    """The failure that prompted ``revision``, if it still exists and the viewer may see it."""
    if revision.failure_id is None:
        return None
    failure = session.get(Failure, revision.failure_id)
    if failure is None or (is_person(viewer) and not can_see_failure(viewer, failure)):
        return None
    return failure


def visible_shaping_failures(
    session: Session, checklist: int | str | Checklist, viewer: Actor
) -> list[Failure]:
    """The failures that prompted a revision of this checklist and that the viewer may see,
    oldest revision first (deleted ones and ones the viewer may not see are left out)."""
    seen: dict[int, Failure] = {}
    for revision in get_checklist(session, checklist, viewer=viewer).revisions:
        failure = prompted_by(session, revision, viewer)
        if failure is not None:
            seen.setdefault(failure.id, failure)
    return list(seen.values())


def revision_out(session: Session, revision: ChecklistRevision, viewer: Actor) -> RevisionOut:
    failure = session.get(Failure, revision.failure_id) if revision.failure_id is not None else None
    lesson = session.get(Lesson, revision.lesson_id) if revision.lesson_id is not None else None
    failure_title = (
        failure.title
        if failure is not None and (is_system(viewer) or can_see_failure(viewer, failure))
        else None
    )
    lesson_title = (
        lesson.title if lesson is not None and (is_system(viewer) or can_see_lesson(viewer, lesson)) else None
    )
    return RevisionOut(
        checklist=revision.checklist.name,
        kind=revision.checklist.kind,
        version=revision.version,
        items=list(revision.items),
        reason=revision.reason,
        author=revision.author.handle if revision.author else None,
        failure_id=revision.failure_ref,
        failure_title=failure_title,
        lesson_id=revision.lesson_id,
        lesson_title=lesson_title,
        created_at=revision.created_at,
    )


def checklist_out(session: Session, checklist: Checklist, *, viewer: Actor) -> ChecklistOut:
    latest = checklist.latest
    return ChecklistOut(
        id=checklist.id,
        name=checklist.name,
        kind=checklist.kind,
        version=latest.version,
        items=list(latest.items),
        revisions=len(checklist.revisions),
        shaped_by=shaping_failures(session, checklist, viewer=viewer),
    )
