"""The outbox API.

Other packages (the worker's jobs, digests, guardrails) call :func:`enqueue` inside their own
unit of work; the worker then delivers. Like every service, nothing here commits.

``enqueue`` is idempotent on ``dedupe_key``: the second call with the same key returns the
existing row and creates nothing, even when two workers race (the unique constraint decides;
the loser's insert is undone with a savepoint, its transaction carries on).

Delivery guarantees (see docs/worker.md): every notification is stored exactly once per
``dedupe_key`` and shows in the person's in-app list; every external delivery is attempted until
sent or, after ``max_attempts`` failures, marked ``dead`` and listed — never dropped. A worker
that dies between sending and recording the send leaves its lease to expire and the delivery is
attempted again with the same ``Idempotency-Key`` / ``Message-ID`` (at-least-once on the wire);
while workers live, leases with fencing tokens keep every delivery to one sender (see the
section on deliveries below and docs/reliability.md).
"""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lessonloop import limits
from lessonloop.access.actor import Actor, is_person, require_actor
from lessonloop.coerce import as_enum, as_text
from lessonloop.errors import Conflict, Invalid, NotFound, PermissionDenied
from lessonloop.integrations.chat import kinds as chat_kinds
from lessonloop.integrations.slack.links import slack_user_of
from lessonloop.notifications import sendtime
from lessonloop.notifications.config import WorkerConfig
from lessonloop.notifications.models import (
    EXTERNAL_CHANNELS,
    Channel,
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationPreference,
)
from lessonloop.outbound import AllowList, TargetRefused, check_host_without_dns
from lessonloop.people.models import Person
from lessonloop.people.service import PersonRef, get_person
from lessonloop.settings import get_settings
from lessonloop.store.base import utcnow
from lessonloop.store.crud import get_or_404

MAX_KEY = 255
# One "@", something on both sides, no spaces or angle brackets (header injection), a dot-free
# domain allowed (intranet hosts). Deliverability is the SMTP server's to judge.
_EMAIL = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+")


def _check_webhook_url(url: str, allow_hosts: Sequence[str]) -> None:
    if not url.startswith(("http://", "https://")):
        raise Invalid("must start with http:// or https://", field="webhook_url")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise Invalid("is not a valid URL", field="webhook_url") from None
    if not parts.hostname or any(ch.isspace() for ch in url):
        raise Invalid("is not a valid URL (it needs a host and no spaces)", field="webhook_url")
    # The literal part of the SSRF rules, to say so at once; names are resolved and checked again
    # at every send (lessonloop.outbound), which is the check that holds.
    try:
        check_host_without_dns(parts.hostname, AllowList.parse(allow_hosts))
    except TargetRefused:
        raise Invalid(
            "must be a public address: loopback, private and link-local hosts are refused "
            "(an administrator can allow a host with LESSONLOOP_WEBHOOK_ALLOW_HOSTS)",
            field="webhook_url",
        ) from None


# --- preferences ------------------------------------------------------------------------------


def get_preferences(session: Session, person_id: int, *, viewer: Actor) -> NotificationPreference | None:
    require_actor(viewer)
    return session.scalar(select(NotificationPreference).where(NotificationPreference.person_id == person_id))


def set_preferences(
    session: Session,
    person: PersonRef,
    *,
    channels: Sequence[str] | None = None,
    email: str | None = None,
    webhook_url: str | None = None,
    webhook_kind: str | None = None,
    allow_hosts: Sequence[str] | None = None,
    viewer: Actor,
) -> NotificationPreference:
    """Choose channels (``email``, ``webhook``; ``in-app`` is always on) and addresses.

    Values left as ``None`` stay as they were. ``webhook_kind``: what speaks at the webhook URL
    (``slack``, ``teams``, ``discord``, ``mattermost``, ``json``; see
    :mod:`lessonloop.integrations.chat.kinds`). ``allow_hosts``: webhook hosts allowed although
    not public; ``None`` reads ``LESSONLOOP_WEBHOOK_ALLOW_HOSTS`` (the worker reads the same).
    """
    require_actor(viewer)
    owner = get_person(session, person, viewer=viewer)
    pref = get_preferences(session, owner.id, viewer=viewer)
    if pref is None:
        pref = NotificationPreference(person_id=owner.id, channels=Channel.in_app.value)
        session.add(pref)
    if email is not None:
        pref.email = as_text(email, "email", max_len=limits.EMAIL_MAX) or None
        if pref.email is not None and not _EMAIL.fullmatch(pref.email):
            raise Invalid(f"is not an e-mail address: {pref.email!r}", field="email")
    if webhook_kind is not None:
        pref.webhook_kind = chat_kinds.as_kind(webhook_kind).value
    if webhook_url is not None:
        pref.webhook_url = as_text(webhook_url, "webhook_url", max_len=limits.URL_MAX) or None
        if pref.webhook_url is not None:
            allowed = get_settings().webhook_allow_hosts if allow_hosts is None else allow_hosts
            _check_webhook_url(pref.webhook_url, allowed)
    if pref.webhook_url is not None and (webhook_url is not None or webhook_kind is not None):
        chat_kinds.check_url(pref.webhook_kind or chat_kinds.DEFAULT_KIND, pref.webhook_url)
    if channels is not None:
        # In-app is always on: the in-app list is the outbox itself, the record of what was said.
        chosen = [Channel.in_app.value] + [
            as_enum(c, Channel, "channels").value for c in channels if str(c).strip()
        ]
        pref.channels = ",".join(c.value for c in Channel if c.value in chosen)
    if Channel.email.value in pref.channel_set and not (pref.email or owner.email):
        raise Invalid("the e-mail channel needs an address (--email or the person's e-mail)", field="email")
    if Channel.webhook.value in pref.channel_set and not pref.webhook_url:
        raise Invalid("the webhook channel needs a URL (--webhook-url)", field="webhook_url")
    if Channel.slack.value in pref.channel_set and not slack_user_of(session, owner.id, viewer=viewer):
        raise Invalid(
            "the Slack channel needs a linked Slack account (Slack on your account page)", field="channels"
        )
    session.flush()
    return pref


@dataclass(frozen=True)
class PreferencesView:
    """A person's channels as shown to them: the defaults when they never chose any."""

    channels: list[str]
    email: str | None
    webhook_url: str | None
    person_email: str | None  # used for the e-mail channel when ``email`` is not set
    webhook_kind: str = chat_kinds.DEFAULT_KIND.value


def preferences_of(session: Session, person: PersonRef, *, viewer: Actor) -> PreferencesView:
    require_actor(viewer)
    owner = get_person(session, person, viewer=viewer)
    pref = get_preferences(session, owner.id, viewer=viewer)
    chosen = pref.channel_set if pref is not None else {Channel.in_app.value}
    return PreferencesView(
        channels=[c.value for c in Channel if c.value in chosen or c is Channel.in_app],
        email=pref.email if pref is not None else None,
        webhook_url=pref.webhook_url if pref is not None else None,
        person_email=owner.email,
        webhook_kind=(pref.webhook_kind if pref is not None else None) or chat_kinds.DEFAULT_KIND.value,
    )


def _targets(session: Session, person: Person, *, viewer: Actor) -> dict[str, str]:
    """External channel → address for this person (in-app needs none)."""
    pref = get_preferences(session, person.id, viewer=viewer)
    if pref is None:
        return {}
    out: dict[str, str] = {}
    chosen = pref.channel_set
    if Channel.email.value in chosen and (pref.email or person.email):
        out[Channel.email.value] = pref.email or person.email or ""
    if Channel.webhook.value in chosen and pref.webhook_url:
        kind = pref.webhook_kind or chat_kinds.DEFAULT_KIND
        out[Channel.webhook.value] = chat_kinds.target_of(kind, pref.webhook_url)
    if Channel.slack.value in chosen:
        slack_user = slack_user_of(session, person.id, viewer=viewer)
        if slack_user:
            out[Channel.slack.value] = slack_user
    return out


# --- enqueue ----------------------------------------------------------------------------------


def enqueue(
    session: Session,
    *,
    person_id: int,
    kind: str,
    subject: str,
    body_text: str,
    dedupe_key: str,
    body_html: str | None = None,
    record_id: int | None = None,
    now: dt.datetime | None = None,
    viewer: Actor,
) -> Notification | None:
    """Put one notification for one person in the outbox, once per ``dedupe_key``.

    Returns the new notification, or ``None`` when one with this key already exists (nothing is
    changed then). Deliveries are created for the person's external channels at this moment.
    The key names the event, e.g. ``reminder:action:12:due-3d:2026-05-01`` or
    ``digest:team:4:2026-W19``; it is at most 255 characters.

    ``record_id``: the record it is about, for a kind with a send-time renderer
    (:mod:`lessonloop.notifications.sendtime`): its text is then rebuilt from that record when it
    is sent and shown, and it is not sent at all once the step is done. The text given here is
    what is kept when there is no renderer.
    """
    require_actor(viewer)
    key = as_text(dedupe_key, "dedupe_key", required=True, max_len=MAX_KEY)
    if session.scalar(select(Notification.id).where(Notification.dedupe_key == key)) is not None:
        return None
    person = session.get(Person, person_id)
    if person is None:
        raise Invalid(f"no person with id {person_id}", field="person_id")
    now = now or utcnow()
    notification = Notification(
        person_id=person.id,
        kind=as_text(kind, "kind", required=True, max_len=40),
        dedupe_key=key,
        subject=as_text(subject, "subject", required=True, max_len=limits.TITLE_MAX),
        body_text=body_text,
        body_html=body_html,
        record_id=record_id,
        created_at=now,
        updated_at=now,
    )
    for channel, target in _targets(session, person, viewer=viewer).items():
        notification.deliveries.append(
            Delivery(channel=channel, target=target, status=DeliveryStatus.pending.value, next_attempt_at=now)
        )
    try:
        with session.begin_nested():  # a racing worker may insert the same key first
            session.add(notification)
            session.flush()
    except IntegrityError:
        if session.scalar(select(Notification.id).where(Notification.dedupe_key == key)) is not None:
            return None
        raise
    return notification


# --- in-app -----------------------------------------------------------------------------------


def _own_person(session: Session, person: PersonRef, viewer: Actor) -> Person:
    """``person``, who must be the acting person (a system job may act for anyone)."""
    owner = get_person(session, person, viewer=viewer)
    if is_person(viewer) and owner.id != viewer.person_id:
        raise PermissionDenied("you may only read and change your own notifications", field="person")
    return owner


def list_for_person(
    session: Session, person: PersonRef, *, unread: bool = False, limit: int = 50, viewer: Actor
) -> list[Notification]:
    """``person``'s notifications, newest first; a person may list only their own."""
    owner = _own_person(session, person, viewer)
    stmt = select(Notification).where(Notification.person_id == owner.id)
    if unread:
        stmt = stmt.where(Notification.read_at.is_(None), Notification.obsolete_at.is_(None))
    return list(
        session.scalars(stmt.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit))
    )


@dataclass(frozen=True)
class Shown:
    """A notification as its recipient sees it now: the current text, or why it is obsolete."""

    notification: Notification
    subject: str
    body_text: str
    obsolete: str | None  # the reason, when the prompt is no longer needed


def _mark_obsolete(notification: Notification, reason: str, now: dt.datetime) -> None:
    """Record that ``notification`` is no longer needed; deliveries not yet started end
    ``obsolete`` with the reason (one held by a worker ends so at its own attempt)."""
    if notification.obsolete_at is None:
        notification.obsolete_at = now
        notification.obsolete_reason = reason
    for delivery in notification.deliveries:
        if delivery.status == DeliveryStatus.pending.value:
            delivery.status = DeliveryStatus.obsolete.value
            delivery.last_error = f"not sent: {reason}"


def refresh(session: Session, notification: Notification, *, now: dt.datetime, viewer: Actor) -> Shown:
    """``notification`` with its text as of ``now``; one found obsolete is recorded so
    (:func:`_mark_obsolete`) — a terminal state, nothing is deleted."""
    current = sendtime.render(session, notification, now=now, viewer=viewer)
    if isinstance(current, sendtime.Obsolete):
        _mark_obsolete(notification, current.reason, now)
        session.flush()
        return Shown(notification, notification.subject, notification.body_text, current.reason)
    return Shown(notification, current.subject, current.body_text, None)


def current_for_person(
    session: Session,
    person: PersonRef,
    *,
    unread: bool = False,
    limit: int = 50,
    now: dt.datetime | None = None,
    viewer: Actor,
) -> list[Shown]:
    """:func:`list_for_person` with each text as of ``now`` (the in-app list and the API).

    ``unread``: unread ones still needed (an obsolete one is no longer waiting for anyone)."""
    now = now or utcnow()
    rows = list_for_person(session, person, unread=unread, limit=limit, viewer=viewer)
    shown = [refresh(session, n, now=now, viewer=viewer) for n in rows]
    return [s for s in shown if not (unread and s.obsolete is not None)]


def mark_read(
    session: Session,
    notification_id: int | str,
    *,
    now: dt.datetime | None = None,
    viewer: Actor,
) -> Notification:
    """Mark one notification read (again: harmless).

    With a ``viewer`` (the API, the pages) only one's own: someone else's answers 404 exactly
    like a missing id. A named system job (the CLI) may mark anyone's.
    """
    notification = get_or_404(session, Notification, notification_id)
    if is_person(viewer) and notification.person_id != viewer.person_id:
        raise NotFound(f"no notification with id {notification.id}", field="notification_id")
    if notification.read_at is None:
        notification.read_at = now or utcnow()
        session.flush()
    return notification


def mark_all_read(
    session: Session, person: PersonRef, *, now: dt.datetime | None = None, viewer: Actor
) -> int:
    """Mark every unread notification of ``person`` read; returns how many were unread."""
    owner = _own_person(session, person, viewer)
    result = session.execute(
        update(Notification)
        .where(Notification.person_id == owner.id, Notification.read_at.is_(None))
        .values(read_at=now or utcnow())
        .execution_options(synchronize_session="fetch")
    )
    session.flush()
    return int(getattr(result, "rowcount", 0) or 0)


def unread_count(session: Session, person_id: int, *, viewer: Actor) -> int:
    require_actor(viewer)
    return int(
        session.scalar(
            select(func.count(Notification.id)).where(
                Notification.person_id == person_id,
                Notification.read_at.is_(None),
                Notification.obsolete_at.is_(None),
            )
        )
        or 0
    )


# --- deliveries: claim, fence, record, dead letters -------------------------------------------
#
# Exactly once while workers live (docs/reliability.md): a claim gives each delivery a lease
# (owner, token, until) that the worker renews while it holds the delivery. Every step after the
# claim — starting an attempt, recording its outcome, renewing, releasing — first locks the row
# *only if* it still carries this worker's owner and token (:func:`_fenced`). A claim by anyone
# else writes a new token, so a worker whose lease was taken over can neither send nor record.


@dataclass(frozen=True)
class Lease:
    """What a claim handed to one worker for one delivery."""

    delivery_id: int
    worker_id: str
    token: str
    target: str = ""  # where it went when claimed (for spreading sends over receivers)


def _due_clause(now: dt.datetime, max_attempts: int) -> ColumnElement[bool]:
    return or_(
        (Delivery.status == DeliveryStatus.pending.value) & (Delivery.next_attempt_at <= now),
        # A worker stopped holding it: the lease ran out, so it is fair game again. A claim that
        # never started an attempt did not count one, so a crash loop cannot bury it.
        (Delivery.status == DeliveryStatus.sending.value)
        & (Delivery.lease_until < now)
        & (Delivery.attempts < max_attempts),
    )


def bury_abandoned(session: Session, *, now: dt.datetime, max_attempts: int, viewer: Actor) -> int:
    """Deliveries whose last allowed attempt died with its worker become ``dead`` (listed)."""
    require_actor(viewer)
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.status == DeliveryStatus.sending.value,
            Delivery.lease_until < now,
            Delivery.attempts >= max_attempts,
        )
        .values(
            status=DeliveryStatus.dead.value,
            lease_owner=None,
            lease_until=None,
            lease_token=None,
            last_error="the worker stopped during the last attempt; delivery unknown",
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def claim(
    session: Session,
    *,
    worker_id: str,
    now: dt.datetime,
    config: WorkerConfig,
    limit: int | None = None,
    skip_targets: Sequence[str] = (),
    viewer: Actor,
) -> list[Lease]:
    """Reserve up to ``limit`` due deliveries for ``worker_id``; the caller commits at once.

    ``skip_targets``: leave deliveries to these addresses for later (the worker already has
    as many sends to each in flight as it allows one receiver).

    Claiming is not an attempt (:func:`begin_attempt` counts one when a send starts). Each claim
    writes a fresh token. PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` then an update in the
    same transaction, so any number of workers claim disjoint sets. SQLite: one atomic
    ``UPDATE … WHERE id IN (SELECT …)`` (SQLite has one writer at a time).
    """
    require_actor(viewer)
    limit = limit or config.batch_size
    token = uuid.uuid4().hex
    due = _due_clause(now, config.max_attempts)
    if skip_targets:
        due = due & Delivery.target.notin_(list(skip_targets))
    values = {
        "status": DeliveryStatus.sending.value,
        "lease_owner": worker_id,
        "lease_until": now + dt.timedelta(seconds=config.lease_seconds),
        "lease_token": token,
        "updated_at": now,
    }
    picked = select(Delivery.id).where(due).order_by(Delivery.next_attempt_at, Delivery.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        ids = list(session.scalars(picked.with_for_update(skip_locked=True)))
        if ids:
            session.execute(
                update(Delivery)
                .where(Delivery.id.in_(ids))
                .values(**values)
                .execution_options(synchronize_session=False)
            )
    else:
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(picked.scalar_subquery()), due)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        ids = list(
            session.scalars(
                select(Delivery.id).where(
                    Delivery.status == DeliveryStatus.sending.value, Delivery.lease_token == token
                )
            )
        )
    targets = {
        i: t for i, t in session.execute(select(Delivery.id, Delivery.target).where(Delivery.id.in_(ids)))
    }
    return [Lease(i, worker_id, token, targets.get(i, "")) for i in sorted(ids)]


def _fenced(session: Session, lease: Lease, now: dt.datetime) -> Delivery | None:
    """The delivery, locked for this transaction, if ``lease`` still holds it; else ``None``.

    The conditional ``UPDATE`` takes the row lock (PostgreSQL) or the write lock (SQLite) in the
    same statement that checks owner and token, so no claim can slip in between the check and
    what the caller then writes.
    """
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.id == lease.delivery_id,
            Delivery.status == DeliveryStatus.sending.value,
            Delivery.lease_owner == lease.worker_id,
            Delivery.lease_token == lease.token,
        )
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        return None
    return session.get(Delivery, lease.delivery_id, populate_existing=True)


def _clear_lease(delivery: Delivery) -> None:
    delivery.lease_owner = None
    delivery.lease_until = None
    delivery.lease_token = None


def current_target(session: Session, delivery: Delivery, *, viewer: Actor) -> str | None:
    """Where ``delivery`` goes now: the person's current address for its channel, or ``None``
    when they have turned the channel off (a corrected address is used by every retry).
    An event delivery (no person) goes to its endpoint's URL while the endpoint may have it."""
    if delivery.notification.person_id is None:
        from lessonloop.integrations.webhooks import outbox as event_outbox  # above this layer

        return event_outbox.current_target(session, delivery, viewer=viewer)
    person = session.get(Person, delivery.notification.person_id)
    if person is None:
        return None
    return _targets(session, person, viewer=viewer).get(delivery.channel)


def begin_attempt(
    session: Session, lease: Lease, *, now: dt.datetime, config: WorkerConfig, viewer: Actor
) -> Delivery | None:
    """Start one attempt just before sending: the fencing check, the attempt counted, the lease
    renewed for a whole send, the text rendered as of ``now`` and stored (what is sent), the
    target refreshed. ``None``: do not send (the lease was taken over; the prompt is no longer
    needed — the delivery ends ``obsolete`` with the reason; or the person turned the channel
    off — then the delivery ends ``dead``, listed)."""
    require_actor(viewer)
    asked = time.monotonic()
    delivery = _fenced(session, lease, now)
    if delivery is None:
        return None
    # ``now`` was read before waiting for the lock (SQLite queues writers): the lease runs from
    # when this worker got it, or a long wait would leave the send too little of it.
    waited = dt.timedelta(seconds=time.monotonic() - asked)
    # The text as of now (docs/worker.md, "Send-time text"): a prompt for a step already done is
    # not sent — the delivery ends ``obsolete``, with the reason.
    current = sendtime.render(session, delivery.notification, now=now, viewer=viewer)
    if isinstance(current, sendtime.Obsolete):
        _mark_obsolete(delivery.notification, current.reason, now)
        delivery.status = DeliveryStatus.obsolete.value
        delivery.last_error = f"not sent: {current.reason}"
        _clear_lease(delivery)
        session.flush()
        return None
    delivery.notification.subject = current.subject[: limits.TITLE_MAX]
    delivery.notification.body_text = current.body_text
    target = current_target(session, delivery, viewer=viewer)
    if target is None:
        delivery.status = DeliveryStatus.dead.value
        delivery.last_error = (
            f"not sent: the person no longer receives {delivery.channel} notifications"
            if delivery.notification.person_id is not None
            else "not sent: the endpoint is disabled or may no longer receive this record"
        )
        _clear_lease(delivery)
        session.flush()
        return None
    delivery.target = target
    delivery.attempts += 1
    delivery.lease_until = now + waited + dt.timedelta(seconds=config.lease_seconds)
    if delivery.notification.person_id is None:  # an event: signed with this attempt's time
        from lessonloop.integrations.webhooks import outbox as event_outbox

        event_outbox.sign_attempt(session, delivery, now=now, viewer=viewer)
    session.flush()
    return delivery


def renew(
    session: Session, leases: Sequence[Lease], *, now: dt.datetime, config: WorkerConfig, viewer: Actor
) -> set[int]:
    """The heartbeat: extend the leases still held; returns the ids of those (the others were
    taken over)."""
    require_actor(viewer)
    held: set[int] = set()
    asked = time.monotonic()
    for lease in leases:
        result = session.execute(
            update(Delivery)
            .where(
                Delivery.id == lease.delivery_id,
                Delivery.status == DeliveryStatus.sending.value,
                Delivery.lease_owner == lease.worker_id,
                Delivery.lease_token == lease.token,
            )
            .values(lease_until=now + dt.timedelta(seconds=config.lease_seconds + time.monotonic() - asked))
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0):
            held.add(lease.delivery_id)
    return held


def release(session: Session, lease: Lease, *, now: dt.datetime, viewer: Actor) -> bool:
    """Hand back a claimed delivery whose attempt never started (a worker stopping)."""
    require_actor(viewer)
    delivery = _fenced(session, lease, now)
    if delivery is None:
        return False
    delivery.status = DeliveryStatus.pending.value
    _clear_lease(delivery)
    session.flush()
    return True


def mark_sent(session: Session, lease: Lease, *, now: dt.datetime, viewer: Actor) -> bool:
    """Record a send; ``False`` (nothing written) when the lease was taken over meanwhile."""
    require_actor(viewer)
    delivery = _fenced(session, lease, now)
    if delivery is None:
        return False
    delivery.status = DeliveryStatus.sent.value
    delivery.sent_at = now
    delivery.last_error = ""
    _clear_lease(delivery)
    session.flush()
    return True


def backoff(attempts: int, config: WorkerConfig) -> dt.timedelta:
    """Seconds before attempt ``attempts + 1``: base, 2·base, 4·base … capped."""
    seconds = config.retry_base_seconds * (2 ** max(attempts - 1, 0))
    return dt.timedelta(seconds=min(seconds, config.retry_cap_seconds))


def mark_failed(
    session: Session,
    lease: Lease,
    *,
    now: dt.datetime,
    error: str,
    config: WorkerConfig,
    viewer: Actor,
) -> str | None:
    """Record a failed attempt: retry later with backoff, or ``dead`` after max attempts.
    ``None`` (nothing written) when the lease was taken over meanwhile."""
    require_actor(viewer)
    delivery = _fenced(session, lease, now)
    if delivery is None:
        return None
    delivery.last_error = error[:2000]
    _clear_lease(delivery)
    if delivery.attempts >= config.max_attempts:
        delivery.status = DeliveryStatus.dead.value
    else:
        delivery.status = DeliveryStatus.pending.value
        delivery.next_attempt_at = now + backoff(delivery.attempts, config)
    session.flush()
    return delivery.status


def list_deliveries(
    session: Session, *, status: str | None = None, limit: int = 100, viewer: Actor
) -> list[Delivery]:
    require_actor(viewer)
    stmt = select(Delivery)
    if status:
        stmt = stmt.where(Delivery.status == as_enum(status, DeliveryStatus, "status").value)
    return list(session.scalars(stmt.order_by(Delivery.id).limit(limit)))


def dead_letters(session: Session, *, limit: int = 100, viewer: Actor) -> list[Delivery]:
    require_actor(viewer)
    return list_deliveries(session, status=DeliveryStatus.dead.value, limit=limit, viewer=viewer)


def retry_dead(
    session: Session, delivery_id: int | str, *, now: dt.datetime | None = None, viewer: Actor
) -> Delivery:
    """Give a dead delivery a fresh set of attempts (after fixing an address, say).

    The target shown is the person's current one at once; every attempt reads it again.
    """
    require_actor(viewer)
    delivery = get_or_404(session, Delivery, delivery_id)
    if delivery.status != DeliveryStatus.dead.value:
        raise Conflict(f"delivery {delivery.id} is {delivery.status}; only a dead one can be retried")
    delivery.target = current_target(session, delivery, viewer=viewer) or delivery.target
    delivery.status = DeliveryStatus.pending.value
    delivery.attempts = 0
    delivery.next_attempt_at = now or utcnow()
    session.flush()
    return delivery


def external_channels() -> tuple[Channel, ...]:
    return EXTERNAL_CHANNELS
