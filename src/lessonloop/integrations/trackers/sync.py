"""The worker's side of the sync: push queued actions to their tracker, and re-read the state of
linked issues. Called by the jobs in :mod:`.jobs`, each step in its own short transaction, and
every call to a tracker *between* transactions.

Never a duplicate issue, also across a worker killed at any point — the kill points:

1. before the claim commits: the link is still ``queued``; the next pass takes it;
2. after the claim, before the tracker saw a request: the lease runs out, another pass claims
   it again, looks the marker label up (nothing) and creates the issue;
3. after the tracker created the issue, before its number was recorded: the lease runs out, the
   next claim looks the marker label up, **finds the issue and adopts it** instead of creating;
4. after the number was recorded: ``linked``, nothing left to do.

Two workers never push one action at once: a claim is a conditional UPDATE (one winner) giving
a lease with a fencing token; the result is recorded only under the same token. Each HTTP call
is cut off at a quarter of the lease, so a claim's calls end before another worker may take it.
A tracker error puts the link back in the queue with a growing delay; after
``tracker_max_attempts`` claims it is ``failed`` (pushing again re-queues it — and looks up first).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor, SystemActor, require_actor
from lessonloop.actions.models import Action
from lessonloop.integrations.trackers.clients import (
    ConnectionParams,
    IssueRef,
    NewIssue,
    TrackerClient,
    client_for,
)
from lessonloop.integrations.trackers.models import ActionTrackerLink, LinkState, TrackerConnection
from lessonloop.integrations.trackers.service import apply_issue_state, issue_for, note_on_action, params_of
from lessonloop.settings import Settings

log = logging.getLogger("lessonloop.trackers")

Units = Callable[[], AbstractContextManager[Session]]
ClientFactory = Callable[[ConnectionParams, float], TrackerClient]

PUSH = SystemActor("tracker-push")
RECONCILE = SystemActor("tracker-reconcile")
MAX_BACKOFF_S = 3600.0


def _default_client(params: ConnectionParams, timeout: float) -> TrackerClient:
    return client_for(params, timeout=timeout)


def call_timeout(settings: Settings) -> float:
    """An HTTP call ends well inside the lease (a claim makes up to three calls)."""
    return max(0.5, min(settings.tracker_timeout_seconds, settings.tracker_lease_seconds / 4))


@dataclass(frozen=True)
class Claim:
    link_id: int
    action_id: int
    token: str
    params: ConnectionParams
    issue: NewIssue


def _claimable(now: dt.datetime) -> ColumnElement[bool]:
    link = ActionTrackerLink
    return or_(
        and_(
            link.state == LinkState.queued.value,
            or_(link.next_attempt_at.is_(None), link.next_attempt_at <= now),
        ),
        and_(link.state == LinkState.pushing.value, or_(link.lease_until.is_(None), link.lease_until < now)),
    )


def claim_next(session: Session, *, now: dt.datetime, settings: Settings, viewer: Actor) -> Claim | None:
    """Lease the next due push to this caller (a committed claim is what makes the later lookup
    necessary). None when nothing is due."""
    require_actor(viewer)
    while True:
        stmt = select(ActionTrackerLink.id).where(_claimable(now)).order_by(ActionTrackerLink.id).limit(1)
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        link_id = session.scalar(stmt)
        if link_id is None:
            return None
        token = uuid.uuid4().hex
        won = session.execute(
            update(ActionTrackerLink)
            .where(ActionTrackerLink.id == link_id, _claimable(now))
            .values(
                state=LinkState.pushing.value,
                lease_token=token,
                lease_until=now + dt.timedelta(seconds=settings.tracker_lease_seconds),
                attempts=ActionTrackerLink.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if getattr(won, "rowcount", 0) != 1:
            continue  # another worker won it between the read and the update
        link = session.get(ActionTrackerLink, link_id, populate_existing=True)
        assert link is not None
        conn = session.get(TrackerConnection, link.connection_id) if link.connection_id else None
        action = session.get(Action, link.action_id)
        if conn is None or action is None:
            link.state = LinkState.failed.value
            link.last_error = "the team's tracker connection was removed or changed: push again"
            link.lease_token = ""
            link.lease_until = None
            session.flush()
            continue
        return Claim(
            link_id=link.id,
            action_id=action.id,
            token=token,
            params=params_of(conn),
            issue=issue_for(session, action, conn, settings, viewer=viewer),
        )


def record_issue(session: Session, claim: Claim, ref: IssueRef, *, adopted: bool, viewer: Actor) -> bool:
    """Record the issue under the claim's token; False when the claim was lost meanwhile (the
    worker that holds it now will find the same issue by its label)."""
    link = session.get(ActionTrackerLink, claim.link_id)
    if link is None or link.lease_token != claim.token:
        return False
    link.state = LinkState.linked.value
    link.issue_key = ref.key
    link.issue_url = ref.url
    link.lease_token = ""
    link.lease_until = None
    link.last_error = ""
    how = "found and adopted" if adopted else "created"
    note_on_action(session, link.action_id, {"tracker_issue": [None, f"{ref.url} ({how})"]}, viewer=viewer)
    if ref.state == "closed":
        apply_issue_state(session, link, "closed", source=link.kind, viewer=viewer)
    else:
        link.issue_state = "open"
    session.flush()
    return True


def record_error(
    session: Session, claim: Claim, error: str, *, now: dt.datetime, settings: Settings, viewer: Actor
) -> None:
    link = session.get(ActionTrackerLink, claim.link_id)
    if link is None or link.lease_token != claim.token:
        return
    link.last_error = error[:2000]
    link.lease_token = ""
    link.lease_until = None
    if link.attempts >= settings.tracker_max_attempts:
        link.state = LinkState.failed.value
        note_on_action(
            session, link.action_id, {"tracker": [None, f"push failed: {error[:200]}"]}, viewer=viewer
        )
    else:
        link.state = LinkState.queued.value
        delay = min(MAX_BACKOFF_S, 5.0 * 2 ** max(0, link.attempts - 1))
        link.next_attempt_at = now + dt.timedelta(seconds=delay)
    session.flush()


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".strip()


def push_pending(
    units: Units,
    settings: Settings,
    *,
    now: dt.datetime,
    limit: int = 50,
    make_client: ClientFactory = _default_client,
) -> str:
    """Push up to ``limit`` due actions, one claim at a time. Returns a summary."""
    created = adopted = errors = 0
    clients: dict[int, TrackerClient] = {}
    for _ in range(limit):
        with units() as session:
            claim = claim_next(session, now=now, settings=settings, viewer=PUSH)
        if claim is None:
            break
        try:
            client = clients.get(claim.params.id)
            if client is None:
                client = clients[claim.params.id] = make_client(claim.params, call_timeout(settings))
            # Look up before creating: an earlier attempt may have created it and died.
            ref = client.find(claim.issue.label)
            found = ref is not None
            if ref is None:
                ref = client.create(claim.issue)
        except Exception as exc:  # any tracker or network problem: back in the queue
            log.warning("pushing action %s failed: %s", claim.action_id, _describe(exc))
            clients.pop(claim.params.id, None)
            with units() as session:
                record_error(session, claim, _describe(exc), now=now, settings=settings, viewer=PUSH)
            errors += 1
            continue
        with units() as session:
            if record_issue(session, claim, ref, adopted=found, viewer=PUSH):
                adopted += found
                created += not found
    return f"{created} issues created, {adopted} adopted, {errors} errors"


def reconcile(
    units: Units,
    settings: Settings,
    *,
    now: dt.datetime,
    limit: int = 100,
    make_client: ClientFactory = _default_client,
) -> str:
    """Re-read the state of linked issues not checked for ``tracker_reconcile_minutes`` (a missed
    webhook is caught here) and apply it."""
    stale = now - dt.timedelta(minutes=settings.tracker_reconcile_minutes)
    with units() as session:
        rows = session.execute(
            select(ActionTrackerLink.id, ActionTrackerLink.issue_key, TrackerConnection)
            .join(TrackerConnection, TrackerConnection.id == ActionTrackerLink.connection_id)
            .where(
                ActionTrackerLink.state == LinkState.linked.value,
                or_(ActionTrackerLink.checked_at.is_(None), ActionTrackerLink.checked_at <= stale),
            )
            .order_by(
                ActionTrackerLink.checked_at.is_not(None), ActionTrackerLink.checked_at, ActionTrackerLink.id
            )
            .limit(limit)
        ).all()
        work = [(link_id, key, params_of(conn)) for link_id, key, conn in rows]
    changed = errors = 0
    clients: dict[int, TrackerClient] = {}
    for link_id, key, params in work:
        try:
            client = clients.get(params.id)
            if client is None:
                client = clients[params.id] = make_client(params, call_timeout(settings))
            ref = client.state(key)
        except Exception as exc:
            log.warning("reading issue %s failed: %s", key, _describe(exc))
            errors += 1
            continue
        with units() as session:
            link = session.get(ActionTrackerLink, link_id)
            if link is None or link.issue_key != key:
                continue
            changed += apply_issue_state(session, link, ref.state, source="reconcile", viewer=RECONCILE)
            link.checked_at = now
            session.flush()
    return f"{len(work)} issues checked, {changed} changed, {errors} errors"
