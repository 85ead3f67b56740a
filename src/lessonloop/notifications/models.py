"""The outbox: notifications, their per-channel deliveries, and who wants which channel.

* ``Notification`` is the message itself and the in-app list entry. Its ``dedupe_key`` is
  unique, so enqueuing the same reminder twice (a restart, a second worker) is a no-op.
* ``Delivery`` is one attempt stream per external channel (``email``, ``webhook``): status,
  attempts, the next retry time and a lease that a worker holds while it sends.
* ``NotificationPreference`` is a person's choice of channels and addresses.

None of these reach the history log (``__history_skip__``): they are machine bookkeeping.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lessonloop.people.models import Person
from lessonloop.store.base import Base, Record, UTCDateTime, utcnow


class Channel(enum.StrEnum):
    in_app = "in-app"
    email = "email"
    webhook = "webhook"
    # A Slack direct message with answer buttons, to the linked Slack user (integrations.slack).
    slack = "slack"


EXTERNAL_CHANNELS = (Channel.email, Channel.webhook, Channel.slack)


class DeliveryStatus(enum.StrEnum):
    pending = "pending"  # waiting for its next attempt (next_attempt_at)
    sending = "sending"  # claimed by a worker; the lease says until when
    sent = "sent"
    dead = "dead"  # gave up after max attempts: listed by `lessonloop notifications dead`
    # Not sent because, when its turn came, the step it prompts for was already done (an action
    # completed, a review date answered): see :mod:`lessonloop.notifications.sendtime`. Terminal.
    obsolete = "obsolete"


class Notification(Record, Base):
    __tablename__ = "notifications"
    __record_type__ = "notification"
    __history_skip__ = True
    __table_args__ = (Index("ix_notifications_person_created", "person_id", "created_at"),)

    # NULL: a system message with no person and no in-app entry, an event for an outgoing event
    # webhook (lessonloop.integrations.webhooks): it rides the same deliveries, leases and retries.
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), nullable=True)
    kind: Mapped[str] = mapped_column(String(40))
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text, nullable=True)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The record the notification is about, for its kind's send-time text (an action for a
    # reminder, a reflection session for "reflection"); NULL: the stored text is the text.
    record_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Set when the text, rendered at send or view time, said the prompt is no longer needed:
    # nothing more is sent for it and the in-app list shows the reason instead. Terminal.
    obsolete_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    obsolete_reason: Mapped[str] = mapped_column(Text, default="")

    person: Mapped[Person | None] = relationship(lazy="joined")
    deliveries: Mapped[list[Delivery]] = relationship(
        back_populates="notification", cascade="all, delete-orphan", lazy="selectin", order_by="Delivery.id"
    )


class Delivery(Record, Base):
    __tablename__ = "notification_deliveries"
    __record_type__ = "delivery"
    __history_skip__ = True
    __table_args__ = (
        UniqueConstraint(
            "notification_id", "channel", name="uq_notification_deliveries_notification_channel"
        ),
        Index("ix_notification_deliveries_due", "status", "next_attempt_at"),
    )

    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    # Where it goes: the person's address when enqueued, refreshed from their current
    # preferences at every attempt (a corrected address is used by the retries).
    target: Mapped[str] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.pending.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # New on every claim: with ``lease_owner`` it fences off a worker whose lease was taken over
    # (it may then neither send nor record). NULL while nobody holds the delivery.
    lease_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Signed channels (event webhooks): "<unix time>,v1=<hex>", written when an attempt begins,
    # so the time a receiver checks is the time of this attempt, not of the event.
    signature: Mapped[str | None] = mapped_column(String(200), nullable=True)

    notification: Mapped[Notification] = relationship(back_populates="deliveries", lazy="joined")

    @property
    def idempotency_key(self) -> str:
        """Sent with every attempt (``Idempotency-Key`` header, e-mail ``Message-ID``)."""
        return f"{self.notification.dedupe_key}#{self.channel}"


class NotificationPreference(Record, Base):
    __tablename__ = "notification_preferences"
    __record_type__ = "notification_preference"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), unique=True)
    # Comma-separated channel names, e.g. "in-app,email".
    channels: Mapped[str] = mapped_column(String(100), default=Channel.in_app.value)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    webhook_url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    # What speaks at ``webhook_url`` (lessonloop.integrations.chat.kinds): slack, teams, discord,
    # mattermost or json; it decides the message format apprise sends.
    webhook_kind: Mapped[str] = mapped_column(String(16), default="slack", server_default="slack")

    person: Mapped[Person] = relationship(lazy="joined")

    @property
    def channel_set(self) -> set[str]:
        return {c for c in (p.strip() for p in self.channels.split(",")) if c}
