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
attempted again with the same ``Idempotency-Key`` / ``Message-ID`` (at-least-once on the wire).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lessonloop.access.viewer import Viewer
from lessonloop.coerce import as_enum, as_text
from lessonloop.errors import Conflict, Invalid, NotFound
from lessonloop.notifications.config import WorkerConfig
from lessonloop.notifications.models import (
    EXTERNAL_CHANNELS,
    Channel,
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationPreference,
)
from lessonloop.people.models import Person
from lessonloop.people.service import PersonRef, get_person
from lessonloop.store.base import utcnow
from lessonloop.store.crud import get_or_404

MAX_KEY = 255
# One "@", something on both sides, no spaces or angle brackets (header injection), a dot-free
# domain allowed (intranet hosts). Deliverability is the SMTP server's to judge.
_EMAIL = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+")


def _check_webhook_url(url: str) -> None:
    if not url.startswith(("http://", "https://")):
        raise Invalid("must start with http:// or https://", field="webhook_url")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise Invalid("is not a valid URL", field="webhook_url") from None
    if not parts.hostname or any(ch.isspace() for ch in url):
        raise Invalid("is not a valid URL (it needs a host and no spaces)", field="webhook_url")


# --- preferences ------------------------------------------------------------------------------


def get_preferences(session: Session, person_id: int) -> NotificationPreference | None:
    return session.scalar(select(NotificationPreference).where(NotificationPreference.person_id == person_id))


def set_preferences(
    session: Session,
    person: PersonRef,
    *,
    channels: Sequence[str] | None = None,
    email: str | None = None,
    webhook_url: str | None = None,
) -> NotificationPreference:
    """Choose channels (``email``, ``webhook``; ``in-app`` is always on) and addresses.

    Values left as ``None`` stay as they were.
    """
    owner = get_person(session, person)
    pref = get_preferences(session, owner.id)
    if pref is None:
        pref = NotificationPreference(person_id=owner.id, channels=Channel.in_app.value)
        session.add(pref)
    if email is not None:
        pref.email = as_text(email, "email", max_len=320) or None
        if pref.email is not None and not _EMAIL.fullmatch(pref.email):
            raise Invalid(f"is not an e-mail address: {pref.email!r}", field="email")
    if webhook_url is not None:
        pref.webhook_url = as_text(webhook_url, "webhook_url", max_len=2000) or None
        if pref.webhook_url is not None:
            _check_webhook_url(pref.webhook_url)
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
    session.flush()
    return pref


@dataclass(frozen=True)
class PreferencesView:
    """A person's channels as shown to them: the defaults when they never chose any."""

    channels: list[str]
    email: str | None
    webhook_url: str | None
    person_email: str | None  # used for the e-mail channel when ``email`` is not set


def preferences_of(session: Session, person: PersonRef) -> PreferencesView:
    owner = get_person(session, person)
    pref = get_preferences(session, owner.id)
    chosen = pref.channel_set if pref is not None else {Channel.in_app.value}
    return PreferencesView(
        channels=[c.value for c in Channel if c.value in chosen or c is Channel.in_app],
        email=pref.email if pref is not None else None,
        webhook_url=pref.webhook_url if pref is not None else None,
        person_email=owner.email,
    )


def _targets(session: Session, person: Person) -> dict[str, str]:
    """External channel → address for this person (in-app needs none)."""
    pref = get_preferences(session, person.id)
    if pref is None:
        return {}
    out: dict[str, str] = {}
    chosen = pref.channel_set
    if Channel.email.value in chosen and (pref.email or person.email):
        out[Channel.email.value] = pref.email or person.email or ""
    if Channel.webhook.value in chosen and pref.webhook_url:
        out[Channel.webhook.value] = pref.webhook_url
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
    now: dt.datetime | None = None,
) -> Notification | None:
    """Put one notification for one person in the outbox, once per ``dedupe_key``.

    Returns the new notification, or ``None`` when one with this key already exists (nothing is
    changed then). Deliveries are created for the person's external channels at this moment.
    The key names the event, e.g. ``reminder:action:12:due-3d:2026-05-01`` or
    ``digest:team:4:2026-W19``; it is at most 255 characters.
    """
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
        subject=as_text(subject, "subject", required=True, max_len=300),
        body_text=body_text,
        body_html=body_html,
        created_at=now,
        updated_at=now,
    )
    for channel, target in _targets(session, person).items():
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


def list_for_person(
    session: Session, person: PersonRef, *, unread: bool = False, limit: int = 50
) -> list[Notification]:
    owner = get_person(session, person)
    stmt = select(Notification).where(Notification.person_id == owner.id)
    if unread:
        stmt = stmt.where(Notification.read_at.is_(None))
    return list(
        session.scalars(stmt.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit))
    )


def mark_read(
    session: Session,
    notification_id: int | str,
    *,
    now: dt.datetime | None = None,
    viewer: Viewer | None = None,
) -> Notification:
    """Mark one notification read (again: harmless).

    With a ``viewer`` (the API, the pages) only one's own: someone else's answers 404 exactly
    like a missing id. ``viewer=None`` is a trusted local caller (the CLI).
    """
    notification = get_or_404(session, Notification, notification_id)
    if viewer is not None and notification.person_id != viewer.person_id:
        raise NotFound(f"no notification with id {notification.id}", field="notification_id")
    if notification.read_at is None:
        notification.read_at = now or utcnow()
        session.flush()
    return notification


def mark_all_read(session: Session, person: PersonRef, *, now: dt.datetime | None = None) -> int:
    """Mark every unread notification of ``person`` read; returns how many were unread."""
    owner = get_person(session, person)
    result = session.execute(
        update(Notification)
        .where(Notification.person_id == owner.id, Notification.read_at.is_(None))
        .values(read_at=now or utcnow())
        .execution_options(synchronize_session="fetch")
    )
    session.flush()
    return int(getattr(result, "rowcount", 0) or 0)


def unread_count(session: Session, person_id: int) -> int:
    return int(
        session.scalar(
            select(func.count(Notification.id)).where(
                Notification.person_id == person_id, Notification.read_at.is_(None)
            )
        )
        or 0
    )


# --- deliveries: claim, record, dead letters --------------------------------------------------


def _due_clause(now: dt.datetime, max_attempts: int) -> ColumnElement[bool]:
    return or_(
        (Delivery.status == DeliveryStatus.pending.value) & (Delivery.next_attempt_at <= now),
        # A worker died holding it: the lease ran out, so it is fair game again.
        (Delivery.status == DeliveryStatus.sending.value)
        & (Delivery.lease_until < now)
        & (Delivery.attempts < max_attempts),
    )


def bury_abandoned(session: Session, *, now: dt.datetime, max_attempts: int) -> int:
    """Deliveries whose last allowed attempt died with its worker become ``dead`` (listed)."""
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
            last_error="the worker stopped during the last attempt; delivery unknown",
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def claim(
    session: Session, *, worker_id: str, now: dt.datetime, config: WorkerConfig, limit: int | None = None
) -> list[int]:
    """Reserve up to ``limit`` due deliveries for ``worker_id``; the caller commits at once.

    PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` then an update in the same transaction, so
    any number of workers claim disjoint batches. SQLite: one atomic ``UPDATE … WHERE id IN
    (SELECT …)`` stamped with this claim's lease (SQLite has one writer at a time; run one
    worker per SQLite file — a second one is safe but only waits).
    """
    limit = limit or config.batch_size
    lease_until = now + dt.timedelta(seconds=config.lease_seconds)
    due = _due_clause(now, config.max_attempts)
    bind = session.get_bind()
    values = {
        "status": DeliveryStatus.sending.value,
        "lease_owner": worker_id,
        "lease_until": lease_until,
        "attempts": Delivery.attempts + 1,
        "updated_at": now,
    }
    if bind.dialect.name == "postgresql":
        ids = list(
            session.scalars(
                select(Delivery.id)
                .where(due)
                .order_by(Delivery.next_attempt_at, Delivery.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if ids:
            session.execute(
                update(Delivery)
                .where(Delivery.id.in_(ids))
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        return ids
    picked = select(Delivery.id).where(due).order_by(Delivery.next_attempt_at, Delivery.id).limit(limit)
    session.execute(
        update(Delivery)
        .where(Delivery.id.in_(picked.scalar_subquery()), due)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return list(
        session.scalars(
            select(Delivery.id)
            .where(
                Delivery.status == DeliveryStatus.sending.value,
                Delivery.lease_owner == worker_id,
                Delivery.lease_until == lease_until,
            )
            .order_by(Delivery.id)
        )
    )


def _held(session: Session, delivery_id: int, worker_id: str) -> Delivery | None:
    """The delivery if this worker still holds its lease (else another worker took it over)."""
    delivery = session.get(Delivery, delivery_id, populate_existing=True)
    if (
        delivery is None
        or delivery.status != DeliveryStatus.sending.value
        or delivery.lease_owner != worker_id
    ):
        return None
    return delivery


def mark_sent(session: Session, delivery_id: int, *, worker_id: str, now: dt.datetime) -> bool:
    delivery = _held(session, delivery_id, worker_id)
    if delivery is None:
        return False
    delivery.status = DeliveryStatus.sent.value
    delivery.sent_at = now
    delivery.lease_owner = None
    delivery.lease_until = None
    delivery.last_error = ""
    session.flush()
    return True


def backoff(attempts: int, config: WorkerConfig) -> dt.timedelta:
    """Seconds before attempt ``attempts + 1``: base, 2·base, 4·base … capped."""
    seconds = config.retry_base_seconds * (2 ** max(attempts - 1, 0))
    return dt.timedelta(seconds=min(seconds, config.retry_cap_seconds))


def mark_failed(
    session: Session, delivery_id: int, *, worker_id: str, now: dt.datetime, error: str, config: WorkerConfig
) -> str | None:
    """Record a failed attempt: retry later with backoff, or ``dead`` after max attempts."""
    delivery = _held(session, delivery_id, worker_id)
    if delivery is None:
        return None
    delivery.last_error = error[:2000]
    delivery.lease_owner = None
    delivery.lease_until = None
    if delivery.attempts >= config.max_attempts:
        delivery.status = DeliveryStatus.dead.value
    else:
        delivery.status = DeliveryStatus.pending.value
        delivery.next_attempt_at = now + backoff(delivery.attempts, config)
    session.flush()
    return delivery.status


def list_deliveries(session: Session, *, status: str | None = None, limit: int = 100) -> list[Delivery]:
    stmt = select(Delivery)
    if status:
        stmt = stmt.where(Delivery.status == as_enum(status, DeliveryStatus, "status").value)
    return list(session.scalars(stmt.order_by(Delivery.id).limit(limit)))


def dead_letters(session: Session, *, limit: int = 100) -> list[Delivery]:
    return list_deliveries(session, status=DeliveryStatus.dead.value, limit=limit)


def retry_dead(session: Session, delivery_id: int | str, *, now: dt.datetime | None = None) -> Delivery:
    """Give a dead delivery a fresh set of attempts (after fixing an address, say)."""
    delivery = get_or_404(session, Delivery, delivery_id)
    if delivery.status != DeliveryStatus.dead.value:
        raise Conflict(f"delivery {delivery.id} is {delivery.status}; only a dead one can be retried")
    delivery.status = DeliveryStatus.pending.value
    delivery.attempts = 0
    delivery.next_attempt_at = now or utcnow()
    session.flush()
    return delivery


def external_channels() -> tuple[Channel, ...]:
    return EXTERNAL_CHANNELS
