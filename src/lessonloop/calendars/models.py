"""A calendar feed token: the secret in the feed URL. Only its SHA-256 is stored."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from lessonloop.store.base import Base, Record, UTCDateTime


class CalendarToken(Record, Base):
    __tablename__ = "calendar_tokens"
    __record_type__ = "calendar_token"
    __history_exclude__ = Base.__history_exclude__ | {"token_hash", "last_used_at"}
    __table_args__ = (CheckConstraint("(person_id IS NULL) <> (team_id IS NULL)", name="one_owner"),)

    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), nullable=True, index=True
    )
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), nullable=True, index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Who made the feed (None: a system job, or made before 0011). No foreign key: the fact
    # outlives the person, and ids are never reused.
    created_by_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    def history_label(self) -> str:
        return f"calendar token {self.prefix}…"
