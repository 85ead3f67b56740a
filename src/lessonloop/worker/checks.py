""" "Did this work?": the owner's answer on an action's review date, and what the metrics read.

:func:`verified_action_ids` is the one function the learning metrics need: the actions whose
latest check says ``yes``.

Who may answer (``viewer`` given — the API and the pages): the same people who may work on the
action (:func:`lessonloop.access.policy.can_work_on_action`): its owner, and whoever may change its
failure. Someone who may not see the failure gets a 404, someone who may see but not answer a
403. The answer is recorded as theirs. A named system job (the CLI, the
worker, tests) may answer for anyone (``person``, default the owner). A dropped action is not
checked: nothing was done whose effect could be judged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from lessonloop import limits
from lessonloop.access.actor import Actor, is_person, require_actor
from lessonloop.access.scope import require_action_workable, require_failure_seen
from lessonloop.actions.models import Action, ActionStatus
from lessonloop.coerce import as_enum, as_text
from lessonloop.errors import Conflict
from lessonloop.failures.models import Failure
from lessonloop.people.service import PersonRef, get_person
from lessonloop.store.base import utcnow
from lessonloop.store.crud import get_or_404
from lessonloop.worker.models import ActionCheck, Worked


def record_check(
    session: Session,
    action_id: int | str,
    *,
    worked: str,
    note: str = "",
    person: PersonRef | None = None,
    now: dt.datetime | None = None,
    viewer: Actor,
) -> ActionCheck:
    """Record whether an action worked (yes, no, partly). A later check supersedes an earlier one.

    With a ``viewer``: only the action's owner or someone who may change its failure (404 when
    they may not see it, 403 otherwise), and the answer is the viewer's (``person`` is ignored).
    """
    action = get_or_404(session, Action, action_id)
    if is_person(viewer):
        require_action_workable(viewer, action, _failure_of(session, action))
    if action.status == ActionStatus.dropped.value:
        raise Conflict(f"action {action.id} was dropped; there is nothing to check", field="status")
    answer = as_enum(worked, Worked, "worked")
    if is_person(viewer):
        by = viewer.person_id
    elif person not in (None, ""):
        by = get_person(session, person, field="person", viewer=viewer).id
    else:
        by = action.owner_id
    check = ActionCheck(
        action_id=action.id,
        person_id=by,
        worked=answer.value,
        note=as_text(note, "note", max_len=limits.NOTE_MAX),
        checked_at=now or utcnow(),
    )
    session.add(check)
    session.flush()
    return check


def _failure_of(session: Session, action: Action) -> Failure:
    failure = session.get(Failure, action.failure_id)
    assert failure is not None  # a foreign key
    return failure


def checks_for(session: Session, action_id: int | str, *, viewer: Actor) -> list[ActionCheck]:
    """An action's checks, oldest first (the last one counts); 404 when ``viewer`` may not see it."""
    action = get_or_404(session, Action, action_id)
    if is_person(viewer):
        require_failure_seen(viewer, _failure_of(session, action))
    return list(
        session.scalars(
            select(ActionCheck)
            .where(ActionCheck.action_id == action.id)
            .order_by(ActionCheck.checked_at, ActionCheck.id)
        )
    )


def latest_checks(session: Session, action_ids: Iterable[int], *, viewer: Actor) -> dict[int, ActionCheck]:
    """action id → its most recent check, for actions the caller already may see."""
    require_actor(viewer)
    ids = list(action_ids)
    latest: dict[int, ActionCheck] = {}
    for start in range(0, len(ids), 900):  # SQLite's bound-parameter limit
        chunk = ids[start : start + 900]
        for check in session.scalars(
            select(ActionCheck)
            .where(ActionCheck.action_id.in_(chunk))
            .order_by(ActionCheck.checked_at, ActionCheck.id)
        ):
            latest[check.action_id] = check  # ordered oldest first: the last one wins
    return latest


def latest_outcomes(
    session: Session, action_ids: Iterable[int] | None = None, *, viewer: Actor
) -> dict[int, str]:
    """action id → the answer of its most recent check (actions never checked are absent)."""
    require_actor(viewer)
    stmt = select(ActionCheck.action_id, ActionCheck.worked, ActionCheck.checked_at, ActionCheck.id)
    ids = None if action_ids is None else list(action_ids)
    rows: list[tuple[int, str, dt.datetime, int]] = []
    if ids is None:
        rows = [tuple(r) for r in session.execute(stmt)]  # type: ignore[misc]
    else:
        for start in range(0, len(ids), 900):  # SQLite's bound-parameter limit
            chunk = ids[start : start + 900]
            rows += [tuple(r) for r in session.execute(stmt.where(ActionCheck.action_id.in_(chunk)))]  # type: ignore[misc]
    latest: dict[int, tuple[dt.datetime, int, str]] = {}
    for aid, worked, at, cid in rows:
        if aid not in latest or (at, cid) > latest[aid][:2]:
            latest[aid] = (at, cid, worked)
    return {aid: v[2] for aid, v in latest.items()}


def verified_action_ids(
    session: Session, action_ids: Iterable[int] | None = None, *, viewer: Actor
) -> set[int]:
    """Actions whose owner answered "yes, it worked" at the latest check."""
    require_actor(viewer)
    return {
        aid
        for aid, worked in latest_outcomes(session, action_ids, viewer=viewer).items()
        if worked == Worked.yes.value
    }
