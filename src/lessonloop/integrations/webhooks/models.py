"""An endpoint that receives signed events: where, for which events, for which team (or the whole
organisation), with which secret."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from lessonloop.store.base import Base, Record


class EventEndpoint(Record, Base):
    __tablename__ = "event_webhook_endpoints"
    __record_type__ = "event_webhook"
    # The secret signs every delivery: it never goes into the history log.
    __history_exclude__ = Base.__history_exclude__ | {"secret"}

    # NULL: an organisation endpoint (org-visible records of every team).
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), nullable=True)
    url: Mapped[str] = mapped_column(String(2000))
    # HMAC-SHA256 key, shown once when the endpoint is made; kept as is (a signature needs it).
    secret: Mapped[str] = mapped_column(String(100))
    # Comma-separated event names (lessonloop.integrations.webhooks.events.EVENTS).
    events: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), nullable=True
    )

    @property
    def event_set(self) -> set[str]:
        return {e for e in (p.strip() for p in self.events.split(",")) if e}
