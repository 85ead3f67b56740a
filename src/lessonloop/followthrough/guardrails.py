"""Guardrails: short-term adjustments of scope or risk tolerance that must not outlive their reason.

"No Friday deploys", "a second approver on pricing changes": each has an owner, an expiry date
and a rollback plan. A guardrail past its expiry is *expired — needs a decision*: it is never
silently active. The owner renews it (a new expiry and a reason) or retires it (a reason); both
decisions are kept in the guardrail's decision log.

The stored ``status`` is brought up to date by :func:`sweep_expired` (the worker runs it), but
every read goes through :func:`effective_status`, so an expired guardrail shows as expired even
before the sweep has run.

With a viewer (the web pages), only the owner, a lead or admin of the guardrail's team, or an
org admin may renew or retire it (:func:`can_decide`); a named system job may too. The same
people correct it (:func:`edit_guardrail`: its text, reason, rollback plan, owner, expiry); the
history log records who changed what.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from lessonloop import limits
from lessonloop.access.actor import Actor, is_person, is_system, require_actor
from lessonloop.access.policy import can_see_failure
from lessonloop.access.scope import require_failure_seen
from lessonloop.coerce import as_date, as_enum, as_text
from lessonloop.errors import Conflict, Invalid, PermissionDenied
from lessonloop.failures.models import Failure
from lessonloop.followthrough.models import Guardrail, GuardrailDecision, GuardrailStatus
from lessonloop.people.models import Role
from lessonloop.people.service import PersonRef, TeamRef, get_person, get_team
from lessonloop.store.base import utcnow
from lessonloop.store.crud import get_or_404
from lessonloop.worker.scheduler import JobContext, job

LIVE = (GuardrailStatus.active.value, GuardrailStatus.renewed.value)
NEEDS_DECISION = "expired — needs a decision"
MAX_DAYS = 366  # a guardrail is short-term: renew it rather than set it for years


class GuardrailDecisionOut(BaseModel):
    decision: str
    reason: str
    decided_by: str | None
    previous_expiry: dt.date
    new_expiry: dt.date | None
    decided_at: dt.datetime


class GuardrailOut(BaseModel):
    id: int
    title: str
    status: str  # effective status: active / expired / renewed / retired
    state: str  # what people read, e.g. "expired — needs a decision"
    owner: str
    team: str | None
    reason: str
    failure_id: int | None
    failure_title: str | None
    starts_on: dt.date
    expires_on: dt.date
    days_left: int | None
    rollback_plan: str
    decisions: list[GuardrailDecisionOut]


def effective_status(guardrail: Guardrail, today: dt.date | None = None) -> GuardrailStatus:
    """Active or renewed past the expiry date → expired; everything else as stored."""
    today = today or dt.date.today()
    if guardrail.status in LIVE and guardrail.expires_on < today:
        return GuardrailStatus.expired
    return GuardrailStatus(guardrail.status)


def describe_state(guardrail: Guardrail, today: dt.date | None = None) -> str:
    today = today or dt.date.today()
    status = effective_status(guardrail, today)
    if status == GuardrailStatus.expired:
        return NEEDS_DECISION
    if status == GuardrailStatus.retired:
        return "retired"
    days = (guardrail.expires_on - today).days
    left = "expires today" if days == 0 else f"expires in {days} day{'s' if days != 1 else ''}"
    return f"{status.value} — {left}"


EXPIRING_DAYS = 7  # "expiring" from a week before the expiry (the first reminder)


def state_kind(guardrail: Guardrail, today: dt.date | None = None) -> str:
    """One word for a badge: ``active``, ``expiring`` (within :data:`EXPIRING_DAYS`), ``expired``
    (needs a decision) or ``retired``. A renewed guardrail is active (or expiring) again."""
    today = today or dt.date.today()
    status = effective_status(guardrail, today)
    if status in (GuardrailStatus.expired, GuardrailStatus.retired):
        return status.value
    return "expiring" if (guardrail.expires_on - today).days <= EXPIRING_DAYS else "active"


def can_decide(viewer: Actor, guardrail: Guardrail) -> bool:
    """May ``viewer`` renew or retire it? The owner, a lead or admin of its team, an org admin.
    A named system job (the CLI, the worker) may."""
    if is_system(viewer):
        return True
    if viewer.is_admin or guardrail.owner_id == viewer.person_id:
        return True
    return viewer.role_in(guardrail.team_id) in (Role.lead.value, Role.admin.value)


def _require_decider(viewer: Actor, guardrail: Guardrail, verb: str = "renew or retire") -> None:
    if not can_decide(viewer, guardrail):
        raise PermissionDenied(
            f"only the owner of guardrail {guardrail.id}, a lead or admin of its team, or an org admin "
            f"may {verb} it",
            field="guardrail",
        )


def _expiry(value: Any, today: dt.date, field: str) -> dt.date:
    expires = as_date(value, field)
    if expires <= today:
        raise Invalid(f"must be after today ({today.isoformat()})", field=field)
    if (expires - today).days > MAX_DAYS:
        raise Invalid(f"a guardrail is short-term: at most {MAX_DAYS} days ahead", field=field)
    return expires


def add_guardrail(
    session: Session,
    *,
    title: str,
    owner: PersonRef | None,
    expires_on: Any,
    rollback_plan: str,
    reason: str = "",
    team: TeamRef | None = None,
    failure_id: int | str | None = None,
    today: dt.date | None = None,
    viewer: Actor,
) -> Guardrail:
    today = today or dt.date.today()
    if owner in (None, ""):
        raise Invalid("every guardrail needs an owner", field="owner")
    guardrail = Guardrail(
        title=as_text(title, "title", required=True, max_len=limits.TITLE_MAX),
        owner=get_person(session, owner, field="owner", viewer=viewer),
        reason=as_text(reason, "reason"),
        rollback_plan=as_text(rollback_plan, "rollback_plan", required=True),
        starts_on=today,
        expires_on=_expiry(expires_on, today, "expires_on"),
        status=GuardrailStatus.active.value,
    )
    if team not in (None, ""):
        guardrail.team = get_team(session, team, viewer=viewer)
    if failure_id not in (None, ""):
        failure = get_or_404(session, Failure, failure_id)
        require_failure_seen(viewer, failure)
        guardrail.failure_id = failure.id
    session.add(guardrail)
    session.flush()
    return guardrail


def get_guardrail(session: Session, guardrail_id: int | str, *, viewer: Actor) -> Guardrail:
    require_actor(viewer)
    return get_or_404(session, Guardrail, guardrail_id)


def list_guardrails(
    session: Session,
    *,
    team: TeamRef | None = None,
    owner: PersonRef | None = None,
    status: str | None = None,
    today: dt.date | None = None,
    viewer: Actor,
) -> list[Guardrail]:
    """Guardrails, the soonest expiry first. ``status`` filters on the *effective* status;
    without it, retired guardrails are left out."""
    require_actor(viewer)
    today = today or dt.date.today()
    stmt = select(Guardrail).order_by(Guardrail.expires_on, Guardrail.id)
    if team not in (None, ""):
        stmt = stmt.where(Guardrail.team_id == get_team(session, team, viewer=viewer).id)
    if owner not in (None, ""):
        stmt = stmt.where(Guardrail.owner_id == get_person(session, owner, field="owner", viewer=viewer).id)
    rows = list(session.scalars(stmt))
    if status in (None, ""):
        return [g for g in rows if effective_status(g, today) != GuardrailStatus.retired]
    wanted = as_enum(status, GuardrailStatus, "status")
    return [g for g in rows if effective_status(g, today) == wanted]


def renew_guardrail(
    session: Session,
    guardrail_id: int | str,
    *,
    expires_on: Any,
    reason: str,
    by: PersonRef | None = None,
    today: dt.date | None = None,
    viewer: Actor,
) -> Guardrail:
    """Keep it for longer: a new expiry date (after today) and why it is still needed."""
    today = today or dt.date.today()
    guardrail = get_guardrail(session, guardrail_id, viewer=viewer)
    _require_decider(viewer, guardrail)
    if guardrail.status == GuardrailStatus.retired.value:
        raise Conflict(f"guardrail {guardrail.id} is retired; add a new one instead", field="status")
    reason = as_text(reason, "reason", required=True)
    new_expiry = _expiry(expires_on, today, "expires_on")
    _decide(session, guardrail, "renewed", reason, by, new_expiry, viewer=viewer)
    guardrail.expires_on = new_expiry
    guardrail.status = GuardrailStatus.renewed.value
    session.flush()
    return guardrail


def retire_guardrail(
    session: Session,
    guardrail_id: int | str,
    *,
    reason: str,
    by: PersonRef | None = None,
    viewer: Actor,
) -> Guardrail:
    """End it explicitly, saying why (the rollback plan was followed, the risk is gone...)."""
    guardrail = get_guardrail(session, guardrail_id, viewer=viewer)
    _require_decider(viewer, guardrail)
    if guardrail.status == GuardrailStatus.retired.value:
        raise Conflict(f"guardrail {guardrail.id} is retired already", field="status")
    reason = as_text(reason, "reason", required=True)
    _decide(session, guardrail, "retired", reason, by, None, viewer=viewer)
    guardrail.status = GuardrailStatus.retired.value
    guardrail.retired_at = utcnow()
    session.flush()
    return guardrail


def _decide(
    session: Session,
    guardrail: Guardrail,
    decision: str,
    reason: str,
    by: PersonRef | None,
    new_expiry: dt.date | None,
    *,
    viewer: Actor,
) -> None:
    row = GuardrailDecision(
        decision=decision, reason=reason, previous_expiry=guardrail.expires_on, new_expiry=new_expiry
    )
    if by not in (None, ""):
        row.decided_by = get_person(session, by, field="by", viewer=viewer)
    guardrail.decisions.append(row)


EDITABLE_GUARDRAIL_FIELDS = frozenset({"title", "reason", "rollback_plan", "owner", "expires_on"})


def edit_guardrail(
    session: Session,
    guardrail_id: int | str,
    changes: Mapping[str, Any],
    *,
    today: dt.date | None = None,
    viewer: Actor,
) -> Guardrail:
    """Correct a guardrail: what it restricts (``title``), its reason, rollback plan, owner or
    expiry; only the fields in ``changes`` change. Who may: as for renewing (:func:`can_decide`).

    A retired guardrail is not edited (409), and the expiry of one past its expiry is not moved
    here (409: renew it, with a reason, so the decision is logged); a new expiry follows the
    renewal rule (after today, at most a year ahead)."""
    today = today or dt.date.today()
    guardrail = get_guardrail(session, guardrail_id, viewer=viewer)
    _require_decider(viewer, guardrail, "change")
    status = effective_status(guardrail, today)
    if status == GuardrailStatus.retired:
        raise Conflict(f"guardrail {guardrail.id} is retired; add a new one instead", field="status")
    unknown = set(changes) - EDITABLE_GUARDRAIL_FIELDS
    if unknown:
        raise Invalid("cannot be changed", field=sorted(unknown)[0])
    # The owner is looked up first: its autoflush must not split one edit into two history rows.
    ordered = sorted(changes.items(), key=lambda kv: kv[0] != "owner")
    for key, value in ordered:
        if key == "title":
            guardrail.title = as_text(value, "title", required=True, max_len=limits.TITLE_MAX)
        elif key == "reason":
            guardrail.reason = as_text(value or "", "reason")
        elif key == "rollback_plan":
            guardrail.rollback_plan = as_text(value, "rollback_plan", required=True)
        elif key == "owner":
            if value in (None, ""):
                raise Invalid("every guardrail needs an owner", field="owner")
            owner = get_person(session, value, field="owner", viewer=viewer)
            with session.no_autoflush:
                guardrail.owner = owner
        elif key == "expires_on":
            new = as_date(value, "expires_on") if value not in (None, "") else None
            if new is None:
                raise Invalid("is required", field="expires_on")
            if new == guardrail.expires_on:
                continue
            if status == GuardrailStatus.expired:
                raise Conflict(
                    f"guardrail {guardrail.id} has expired: renew it with a reason instead",
                    field="expires_on",
                )
            guardrail.expires_on = _expiry(new, today, "expires_on")
    session.flush()
    return guardrail


def sweep_expired(session: Session, *, today: dt.date | None = None, viewer: Actor) -> list[Guardrail]:
    """Store ``expired`` on every live guardrail past its expiry; returns those changed."""
    require_actor(viewer)
    today = today or dt.date.today()
    rows = list(
        session.scalars(select(Guardrail).where(Guardrail.status.in_(LIVE), Guardrail.expires_on < today))
    )
    for guardrail in rows:
        guardrail.status = GuardrailStatus.expired.value
    session.flush()
    return rows


def guardrails_because_of(session: Session, failure_id: int, *, viewer: Actor) -> list[Guardrail]:
    """The guardrails failure #N prompted. A person who may not see the failure gets the 404 of a
    missing one (like :func:`~lessonloop.followthrough.checklists.revisions_because_of`): which
    guardrails a hidden failure prompted is not theirs to know. A deleted failure's guardrails
    are for system jobs only."""
    require_actor(viewer)
    failure = session.get(Failure, failure_id)
    if failure is not None:
        require_failure_seen(viewer, failure)
    elif is_person(viewer):
        return []
    stmt = select(Guardrail).where(Guardrail.failure_id == failure_id).order_by(Guardrail.id)
    return list(session.scalars(stmt))


def guardrail_out(
    session: Session, guardrail: Guardrail, *, today: dt.date | None = None, viewer: Actor
) -> GuardrailOut:
    today = today or dt.date.today()
    status = effective_status(guardrail, today)
    failure = session.get(Failure, guardrail.failure_id) if guardrail.failure_id is not None else None
    visible = failure is not None and (is_system(viewer) or can_see_failure(viewer, failure))
    return GuardrailOut(
        id=guardrail.id,
        title=guardrail.title,
        status=status.value,
        state=describe_state(guardrail, today),
        owner=guardrail.owner.handle,
        team=guardrail.team.name if guardrail.team else None,
        reason=guardrail.reason,
        failure_id=guardrail.failure_id if visible else None,
        failure_title=failure.title if failure is not None and visible else None,
        starts_on=guardrail.starts_on,
        expires_on=guardrail.expires_on,
        days_left=None if status == GuardrailStatus.retired else (guardrail.expires_on - today).days,
        rollback_plan=guardrail.rollback_plan,
        decisions=[
            GuardrailDecisionOut(
                decision=d.decision,
                reason=d.reason,
                decided_by=d.decided_by.handle if d.decided_by else None,
                previous_expiry=d.previous_expiry,
                new_expiry=d.new_expiry,
                decided_at=d.decided_at,
            )
            for d in guardrail.decisions
        ],
    )


# -- reminders (the worker's job) ---------------------------------------------------------------

REMINDER_DAYS = (7, 3)  # days before expiry
EXPIRED_REPEAT_DAYS = 7  # remind again every week while an expired guardrail waits for a decision
CATCH_UP_DAYS = 60  # a guardrail expired longer ago than this is left to the list and the digest


def reminder_key(guardrail: Guardrail, what: str) -> str:
    """``guardrail:7:expires-3d:2026-05-01``: the expiry date is part of the key, so a renewed
    guardrail is reminded again before its new expiry."""
    return f"guardrail:{guardrail.id}:{what}:{guardrail.expires_on.isoformat()}"


def guardrail_reminders(session: Session, *, now: dt.datetime, viewer: Actor) -> int:
    """Mark guardrails past their expiry as expired and tell their owners: before the expiry
    (7 and 3 days ahead) and, once expired, every week until someone renews or retires it.
    Idempotent (one notification per dedupe key). Returns how many notifications were new."""
    require_actor(viewer)
    from lessonloop.notifications.service import enqueue

    today = now.date()
    sweep_expired(session, today=today, viewer=viewer)
    horizon = today + dt.timedelta(days=max(REMINDER_DAYS))
    rows = session.scalars(
        select(Guardrail)
        .where(
            Guardrail.status != GuardrailStatus.retired.value,
            Guardrail.expires_on <= horizon,
            Guardrail.expires_on >= today - dt.timedelta(days=CATCH_UP_DAYS),
        )
        .order_by(Guardrail.id)
    )
    sent = 0
    for guardrail in rows:
        left = (guardrail.expires_on - today).days
        if left >= 0:
            offset = min(n for n in REMINDER_DAYS if left <= n)
            key = reminder_key(guardrail, f"expires-{offset}d")
            when = "today" if left == 0 else f"in {left} day{'s' if left != 1 else ''}"
            subject = f"Guardrail #{guardrail.id} expires {when}: {guardrail.title}"
            ask = "Before then, decide: renew it (new date and reason) or retire it (reason)."
        else:
            late = -left - 1  # expired the day after expires_on
            key = reminder_key(guardrail, f"expired:{late // EXPIRED_REPEAT_DAYS}")
            subject = f"Guardrail #{guardrail.id} has expired and needs a decision: {guardrail.title}"
            ask = "It is no longer in force until someone renews it (new date and reason) or retires it."
        body = (
            f"{subject}\n\nExpiry: {guardrail.expires_on.isoformat()}\nReason: {guardrail.reason or '—'}\n"
            f"Rollback plan: {guardrail.rollback_plan}\n\n{ask}\n"
            f"  lessonloop guardrail renew {guardrail.id} --until YYYY-MM-DD --reason TEXT\n"
            f"  lessonloop guardrail retire {guardrail.id} --reason TEXT"
        )
        if enqueue(
            session,
            person_id=guardrail.owner_id,
            kind="guardrail",
            subject=subject[:300],
            body_text=body,
            dedupe_key=key,
            now=now,
            viewer=viewer,
        ):
            sent += 1
    return sent


@job("guardrail-reminders", description="Remind guardrail owners before expiry; expired ones need a decision")
def _guardrail_reminders_job(ctx: JobContext) -> str:
    return f"{guardrail_reminders(ctx.session, now=ctx.now, viewer=ctx.actor)} guardrail reminders"
