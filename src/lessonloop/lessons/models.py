"""Re-evaluate: "What we learned" notes, linked to the failures that taught them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lessonloop.failures.models import Failure
from lessonloop.people.models import Person, Team
from lessonloop.store.base import Base, Record, UTCDateTime

lesson_failures = Table(
    "lesson_failures",
    Base.metadata,
    Column("lesson_id", ForeignKey("lessons.id", ondelete="CASCADE"), primary_key=True),
    Column("failure_id", ForeignKey("failures.id", ondelete="CASCADE"), primary_key=True, index=True),
)

lesson_audience = Table(
    "lesson_audience",
    Base.metadata,
    Column("lesson_id", ForeignKey("lessons.id", ondelete="CASCADE"), primary_key=True),
    Column("team_id", ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Lesson(Record, Base):
    __tablename__ = "lessons"
    __record_type__ = "lesson"
    __search_kind__ = "lesson"

    title: Mapped[str] = mapped_column(String(300))
    learned: Mapped[str] = mapped_column(Text)
    changed: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), nullable=True)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    # Retracted: kept with its history and shown on its own page, never listed or sent (decision 38).
    retracted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    retraction_reason: Mapped[str] = mapped_column(Text, default="")

    author: Mapped[Person | None] = relationship(lazy="joined")
    failures: Mapped[list[Failure]] = relationship(secondary=lesson_failures, lazy="selectin")
    audience: Mapped[list[Team]] = relationship(secondary=lesson_audience, lazy="selectin")

    def search_document(self) -> tuple[str, str]:
        return self.title, "\n".join(p for p in (self.learned, self.changed) if p)
