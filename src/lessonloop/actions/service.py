"""Act: corrective actions with one micro-owner, a due date and a review date.

``viewer`` is required (:mod:`lessonloop.access.scope`): a named system job is let through; for a person an
action is seen by whoever may see its failure; adding one needs the right to change the failure;
completing, dropping or rescheduling one is also open to its owner.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Select, false, select
from sqlalchemy.orm import Session

from lessonloop import limits
from lessonloop.access.actor import Actor, is_person, require_actor
from lessonloop.access.policy import visible_actions_clause, visible_failures_clause
from lessonloop.access.scope import (
    require_action_workable,
    require_failure_editable,
    require_failure_seen,
    where_visible,
)
from lessonloop.actions.models import Action, ActionStatus, is_past, overdue_clause, today_utc
from lessonloop.actions.schemas import OWNER_REQUIRED
from lessonloop.coerce import as_date, as_datetime, as_enum, as_text
from lessonloop.errors import Conflict, Invalid
from lessonloop.failures.models import Failure
from lessonloop.people.models import Person
from lessonloop.people.service import PersonRef, TeamRef, get_person, get_team
from lessonloop.store.base import utcnow
from lessonloop.store.crud import Page, get_or_404, id_in_range, paginate
from lessonloop.store.history import note

DEFAULT_REVIEW_OFFSET_DAYS = 14


def require_not_past(due: dt.date, *, backfill: bool) -> None:
    """Refuse a due date in the past (:func:`~lessonloop.actions.models.is_past`: before today in
    UTC) unless the action is an explicit back-fill, recorded after the fact."""
    if not backfill and is_past(due):
        raise Invalid(
            f"Due date {due.isoformat()} is in the past (today is {today_utc().isoformat()}, UTC); "
            "mark the action as a back-fill to record one that was due then",
            field="due_date",
        )


def add_action(
    session: Session,
    *,
    failure_id: int | str,
    title: str,
    owner: PersonRef | None,
    due_date: Any,
    review_date: Any = None,
    review_id: int | None = None,
    primary: bool = False,
    review_offset_days: int = DEFAULT_REVIEW_OFFSET_DAYS,
    backfill: bool = False,
    viewer: Actor,
) -> Action:
    """A new open action. Its due date may not be in the past unless ``backfill`` says it is an
    action recorded after the fact (:func:`require_not_past`)."""
    failure = get_or_404(session, Failure, failure_id)
    require_failure_editable(viewer, failure)
    if owner is None or str(owner).strip() == "":
        raise Invalid(OWNER_REQUIRED, field="owner")
    owner_obj = get_person(session, owner, field="owner", viewer=viewer)
    due = as_date(due_date, "due_date")
    require_not_past(due, backfill=backfill)
    review = (
        as_date(review_date, "review_date")
        if review_date not in (None, "")
        else due + dt.timedelta(days=review_offset_days)
    )
    if review < due:
        raise Invalid("must be on or after the due date", field="review_date")
    if primary:
        if review_id is None:
            raise Invalid("a primary action belongs to a review", field="review_id")
        existing = session.scalar(select(Action.id).where(Action.review_id == review_id, Action.is_primary))
        if existing is not None:
            raise Conflict(f"the review already has its primary action (#{existing})", field="primary")
    action = Action(
        failure_id=failure.id,
        review_id=review_id,
        is_primary=primary,
        title=as_text(title, "title", required=True, max_len=limits.ACTION_TITLE_MAX),
        owner=owner_obj,
        due_date=due,
        review_date=review,
        status=ActionStatus.open.value,
    )
    session.add(action)
    session.flush()
    return action


def get_action(session: Session, action_id: int | str, *, viewer: Actor) -> Action:
    """An action; 404 when ``viewer`` may not see its failure."""
    action = get_or_404(session, Action, action_id)
    if is_person(viewer):
        require_failure_seen(viewer, _failure_of(session, action))
    return action


def _failure_of(session: Session, action: Action) -> Failure:
    failure = session.get(Failure, action.failure_id)
    assert failure is not None  # a foreign key
    return failure


def _workable_action(session: Session, action_id: int | str, viewer: Actor) -> Action:
    action = get_or_404(session, Action, action_id)
    if is_person(viewer):
        require_action_workable(viewer, action, _failure_of(session, action))
    return action


def get_workable_action(session: Session, action_id: int | str, *, viewer: Actor) -> Action:
    """The action if ``viewer`` may work on it (edit, complete, drop): 404 when they may not see its
    failure, 403 when they may see but neither own the action nor change the failure."""
    return _workable_action(session, action_id, viewer)


def _require_open(action: Action, verb: str) -> None:
    if action.status != ActionStatus.open.value:
        raise Conflict(
            f"action {action.id} is {action.status}; only an open action can be {verb}", field="status"
        )


def complete_action(
    session: Session, action_id: int | str, *, evidence: str, done_at: Any = None, viewer: Actor
) -> Action:
    """Mark an open action done. ``done_at`` back-fills when it was done (not in the future); it is
    the ``closed_at`` the drift and on-time metrics read. Default: now."""
    action = _workable_action(session, action_id, viewer)
    _require_open(action, "completed")
    action.evidence = as_text(evidence, "evidence", required=True)
    now = utcnow()
    closed = now if done_at in (None, "") else as_datetime(done_at, "done_at")
    if closed > now:
        raise Invalid("must not be in the future", field="done_at")
    action.status = ActionStatus.done.value
    action.closed_at = closed
    session.flush()
    return action


def answer_not_yet(session: Session, action_id: int | str, *, viewer: Actor) -> Action:
    """A reminder answered "not yet": the action stays as it was (open, the same dates), and the
    answer is in its history with who gave it. Whoever may work on the action (404/403 as for
    completing it); an action that is no longer open has no reminder to answer."""
    action = _workable_action(session, action_id, viewer)
    _require_open(action, "answered")
    note(session, Action.__record_type__, action.id, {"reminder": [None, "not yet"]})
    return action


EDITABLE_ACTION_FIELDS = frozenset({"title", "owner", "due_date", "review_date"})


def edit_action(
    session: Session,
    action_id: int | str,
    changes: Mapping[str, Any],
    *,
    backfill: bool = False,
    viewer: Actor,
) -> Action:
    """Re-assign an action's one owner, move its due or review date, retitle it: whoever may work
    on the action (its owner, or whoever may change its failure). Only the fields in ``changes``
    change; a due date moved into the past needs ``backfill`` (:func:`require_not_past`)."""
    action = _workable_action(session, action_id, viewer)
    unknown = set(changes) - EDITABLE_ACTION_FIELDS
    if unknown:
        raise Invalid("cannot be changed", field=sorted(unknown)[0])
    owner = None
    if "owner" in changes:  # looked up first: a lookup flushes, and one edit is one history row
        if changes["owner"] is None or str(changes["owner"]).strip() == "":
            raise Invalid(OWNER_REQUIRED, field="owner")
        owner = get_person(session, changes["owner"], field="owner", viewer=viewer)
    for key, value in changes.items():
        if key == "title":
            action.title = as_text(value, "title", required=True, max_len=limits.ACTION_TITLE_MAX)
        elif key == "owner" and owner is not None:
            action.owner = owner
        elif key == "due_date":
            due = as_date(value, "due_date")
            if due != action.due_date:
                require_not_past(due, backfill=backfill)
            action.due_date = due
        elif key == "review_date":
            action.review_date = as_date(value, "review_date")
    if action.review_date < action.due_date:
        raise Invalid("must be on or after the due date", field="review_date")
    session.flush()
    return action


def drop_action(session: Session, action_id: int | str, *, reason: str, viewer: Actor) -> Action:
    action = _workable_action(session, action_id, viewer)
    _require_open(action, "dropped")
    action.drop_reason = as_text(reason, "reason", required=True)
    action.status = ActionStatus.dropped.value
    action.closed_at = utcnow()
    session.flush()
    return action


def reschedule_action(
    session: Session,
    action_id: int | str,
    *,
    due_date: Any,
    review_date: Any = None,
    viewer: Actor,
) -> Action:
    action = _workable_action(session, action_id, viewer)
    _require_open(action, "rescheduled")
    due = as_date(due_date, "due_date")
    if due != action.due_date and is_past(due):  # moved (or snoozed) into the past: never a plan
        raise Invalid(
            f"Due date {due.isoformat()} is in the past (today is {today_utc().isoformat()}, UTC); "
            "pick today or a later date",
            field="due_date",
        )
    action.due_date = due
    action.review_date = (
        as_date(review_date, "review_date")
        if review_date not in (None, "")
        else action.due_date + dt.timedelta(days=DEFAULT_REVIEW_OFFSET_DAYS)
    )
    if action.review_date < action.due_date:
        raise Invalid("must be on or after the due date", field="review_date")
    session.flush()
    return action


def list_actions(
    session: Session,
    *,
    owner: PersonRef | None = None,
    team: TeamRef | None = None,
    status: str | None = None,
    failure_id: int | None = None,
    overdue: bool = False,
    today: dt.date | None = None,
    team_ids: Sequence[int] | None = None,
    page: int = 1,
    page_size: int = 50,
    viewer: Actor,
) -> Page[Action]:
    """Actions, the earliest due first; only those of failures ``viewer`` may see.

    ``team_ids``: of failures in any of these teams (one statement for a person's teams, where
    asking per team would repeat the query and merge pages).
    """
    stmt = _visible_actions(viewer)
    if owner not in (None, ""):
        stmt = stmt.where(Action.owner_id == get_person(session, owner, field="owner", viewer=viewer).id)
    if team not in (None, ""):
        team_id = get_team(session, team, viewer=viewer).id
        stmt = stmt.where(Action.failure_id.in_(select(Failure.id).where(Failure.team_id == team_id)))
    if team_ids is not None:
        stmt = stmt.where(
            Action.failure_id.in_(select(Failure.id).where(Failure.team_id.in_(list(team_ids))))
        )
    if status:
        stmt = stmt.where(Action.status == as_enum(status, ActionStatus, "status").value)
    if failure_id is not None:
        stmt = stmt.where(Action.failure_id == failure_id if id_in_range(failure_id) else false())
    if overdue:
        stmt = stmt.where(overdue_clause(today or dt.date.today()))
    stmt = stmt.order_by(Action.due_date, Action.id)
    return paginate(session, stmt, page, page_size)


def _visible_actions(viewer: Actor) -> Select[Action]:
    """``SELECT actions`` that ``viewer`` may see. For a person: the failure's visibility rule on
    the joined failure (one primary-key lookup per action read), not ``visible_actions_clause``'s
    set of every visible failure id, which each statement built in full before reading the first
    action (decision 43); the same rule, in SQL."""
    stmt = select(Action)
    if is_person(viewer):
        return stmt.join(Failure, Failure.id == Action.failure_id).where(visible_failures_clause(viewer))
    return where_visible(stmt, viewer, visible_actions_clause(viewer))


def latest_done_actions(session: Session, *, limit: int = 8, viewer: Actor) -> list[Action]:
    """The ``limit`` actions done most recently (no total: a short list, not a page). One done
    without a closing day has no place in "most recently"; leaving it out keeps the order on the
    ``(status, closed_at)`` index on both backends (PostgreSQL sorts NULL first when descending)."""
    stmt = _visible_actions(viewer).where(
        Action.status == ActionStatus.done.value, Action.closed_at.is_not(None)
    )
    return list(session.scalars(stmt.order_by(Action.closed_at.desc(), Action.id.desc()).limit(limit)))


def done_actions_to_check(
    session: Session, *, today: dt.date, owner: int | None = None, limit: int, viewer: Actor
) -> list[Action]:
    """Done actions whose review date has come ("did this work?"), the earliest due first, at most
    ``limit`` (of ``owner`` only, when given)."""
    stmt = _visible_actions(viewer).where(
        Action.status == ActionStatus.done.value, Action.review_date <= today
    )
    if owner is not None:
        stmt = stmt.where(Action.owner_id == owner)
    return list(session.scalars(stmt.order_by(Action.due_date, Action.id).limit(limit)))


def actions_by_id(session: Session, action_ids: Iterable[int], *, viewer: Actor) -> dict[int, Action]:
    """id → action for those of ``action_ids`` whose failure ``viewer`` may see (filtered in SQL),
    one statement per 900 ids: for a page that lists records of many actions."""
    require_actor(viewer)
    ids = sorted(set(action_ids))
    found: dict[int, Action] = {}
    for start in range(0, len(ids), 900):  # SQLite's bound-parameter limit
        stmt = select(Action).where(Action.id.in_(ids[start : start + 900]))
        if is_person(viewer):
            stmt = stmt.join(Failure, Failure.id == Action.failure_id).where(visible_failures_clause(viewer))
        found.update((a.id, a) for a in session.scalars(stmt))
    return found


def overdue_by_owner(
    session: Session,
    *,
    today: dt.date | None = None,
    team: TeamRef | None = None,
    viewer: Actor,
) -> list[tuple[Person, list[Action]]]:
    """Open actions past their due date, grouped by owner, the most overdue owner first
    (only actions of failures ``viewer`` may see)."""
    today = today or dt.date.today()
    page = list_actions(session, team=team, overdue=True, today=today, page_size=500, viewer=viewer)
    items = page.items
    # Collect every page: the grouping is a report, not a paged list.
    number = 1
    while number < page.pages:
        number += 1
        items += list_actions(
            session, team=team, overdue=True, today=today, page=number, page_size=500, viewer=viewer
        ).items
    grouped: dict[int, list[Action]] = defaultdict(list)
    owners: dict[int, Person] = {}
    for action in items:
        grouped[action.owner_id].append(action)
        owners[action.owner_id] = action.owner
    return sorted(
        ((owners[oid], acts) for oid, acts in grouped.items()),
        key=lambda pair: (min(a.due_date for a in pair[1]), pair[0].handle),
    )
