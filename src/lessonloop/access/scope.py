"""The policy as services use it: every call names its actor, and ``None`` is refused.

Every service that reads or changes loop records takes a required ``viewer: Actor``
(:mod:`lessonloop.access.actor`):

* a :class:`~lessonloop.access.viewer.Viewer` (a signed-in person) — reads are filtered with the
  access clauses; a record the viewer may not see answers :class:`~lessonloop.errors.NotFound`
  (404) exactly as if it did not exist, and a change the viewer may see but not make answers
  :class:`~lessonloop.errors.PermissionDenied` (403).
* a :class:`~lessonloop.access.actor.SystemActor` — an explicit, named job (the local CLI on its
  own database file, the worker's reminders, an import): it passes these checks. Jobs that build
  something *for a person* (digests, feeds, notifications) act as that person's Viewer instead.
* ``None`` — refused with :class:`~lessonloop.access.actor.MissingActor`: there is no default
  that means "everything".

Mind the difference with :mod:`lessonloop.access.policy`, where anything but a Viewer (``None``,
a system job) sees nothing: the helpers here let a system job through before asking the policy.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select
from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor, is_system
from lessonloop.access.policy import (
    can_edit_failure,
    can_edit_lesson,
    can_manage_directory,
    can_manage_team,
    can_see,
    can_see_failure,
    can_see_lesson,
    can_work_on_action,
)
from lessonloop.actions.models import Action
from lessonloop.errors import NotFound, PermissionDenied
from lessonloop.failures.models import Failure
from lessonloop.lessons.models import Lesson
from lessonloop.store.history import HistoryEntry, list_history


def not_found(record: Any) -> NotFound:
    """The same 404 :func:`lessonloop.store.crud.get_or_404` gives for a missing id."""
    label = getattr(record, "__record_type__", type(record).__name__.lower())
    return NotFound(f"no {label} with id {getattr(record, 'id', '?')}", field=f"{label}_id")


def where_visible(stmt: Select[Any], viewer: Actor, clause: ColumnElement[bool]) -> Select[Any]:
    """``stmt`` filtered by ``clause`` unless the caller is a named system job."""
    return stmt if is_system(viewer) else stmt.where(clause)


def require_seen(session: Session, viewer: Actor, record: Any) -> None:
    """404 unless the viewer may see ``record`` (any record type :func:`can_see` knows)."""
    if not is_system(viewer) and not can_see(session, viewer, record):
        raise not_found(record)


def require_failure_seen(viewer: Actor, failure: Failure) -> None:
    if not is_system(viewer) and not can_see_failure(viewer, failure):
        raise not_found(failure)


def require_failure_editable(viewer: Actor, failure: Failure) -> None:
    """404 when the viewer may not see the failure, 403 when they may see but not change it."""
    if is_system(viewer):
        return
    require_failure_seen(viewer, failure)
    if not can_edit_failure(viewer, failure):
        raise PermissionDenied(
            "only the reporter, the people involved, the team's leads or admins, "
            f"or an org admin (not for private failures) may change failure {failure.id}",
            field="failure",
        )


def require_action_workable(viewer: Actor, action: Action, failure: Failure) -> None:
    """404 when the viewer may not see the action's failure; 403 unless they own the action or
    may change the failure."""
    if is_system(viewer):
        return
    require_failure_seen(viewer, failure)
    if not can_work_on_action(viewer, action, failure):
        raise PermissionDenied(
            f"only the action's owner or someone who may change failure {failure.id} may do this",
            field="action",
        )


def require_lesson_editable(viewer: Actor, lesson: Lesson) -> None:
    if is_system(viewer):
        return
    if not can_see_lesson(viewer, lesson):
        raise not_found(lesson)
    if not can_edit_lesson(viewer, lesson):
        raise PermissionDenied(
            "only the lesson's author, an org admin, a lead of an audience team or someone who may "
            "change one of its failures may do this",
            field="lesson",
        )


def require_directory_admin(viewer: Actor, what: str) -> None:
    if not is_system(viewer) and not can_manage_directory(viewer):
        raise PermissionDenied(f"only an org admin may {what}", field="viewer")


def require_team_manager(viewer: Actor, team_id: int) -> None:
    if not is_system(viewer) and not can_manage_team(viewer, team_id):
        raise PermissionDenied(
            "only an org admin or the team's leads and admins may change its members", field="team"
        )


def record_history(session: Session, record: Any, *, viewer: Actor) -> list[HistoryEntry]:
    """The history of one record, oldest first; 404 unless ``viewer`` may see the record.

    Records the policy has no rule for (accounts, tokens) are shown to system jobs only.
    """
    if not is_system(viewer):
        try:
            visible = can_see(session, viewer, record)
        except TypeError:
            visible = False
        if not visible:
            raise not_found(record)
    return list_history(session, getattr(record, "__record_type__", record.__tablename__), record.id)
