""" "Did this work?": the owner's answer on an action's review date, and what the metrics read.

:func:`verified_action_ids` is the one function the learning metrics need: the actions whose
latest check says ``yes``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from lessonloop.actions.models import Action
from lessonloop.coerce import as_enum, as_text
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
) -> ActionCheck:
    """Record whether an action worked (yes, no, partly). A later check supersedes an earlier one."""
    action = get_or_404(session, Action, action_id)
    answer = as_enum(worked, Worked, "worked")
    by = get_person(session, person, field="person").id if person not in (None, "") else action.owner_id
    check = ActionCheck(
        action_id=action.id,
        person_id=by,
        worked=answer.value,
        note=as_text(note, "note", max_len=5000),
        checked_at=now or utcnow(),
    )
    session.add(check)
    session.flush()
    return check


def checks_for(session: Session, action_id: int) -> list[ActionCheck]:
    return list(
        session.scalars(
            select(ActionCheck)
            .where(ActionCheck.action_id == action_id)
            .order_by(ActionCheck.checked_at, ActionCheck.id)
        )
    )


def latest_outcomes(session: Session, action_ids: Iterable[int] | None = None) -> dict[int, str]:
    """action id → the answer of its most recent check (actions never checked are absent)."""
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


def verified_action_ids(session: Session, action_ids: Iterable[int] | None = None) -> set[int]:
    """Actions whose owner answered "yes, it worked" at the latest check."""
    return {aid for aid, worked in latest_outcomes(session, action_ids).items() if worked == Worked.yes.value}
