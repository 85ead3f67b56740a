"""Coaching: private notes from a lead to someone they lead, and development plans for skill gaps.

Both are seen by their author and their subject only — not by org admins, not by other leads.
Their text stays out of the history log and the search index.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lessonloop.people.models import Person
from lessonloop.store.base import Base, Record, UTCDateTime


class CoachingNote(Record, Base):
    __tablename__ = "coaching_notes"
    __record_type__ = "coaching_note"
    # History keeps who wrote a note about whom and when, never what it says.
    __history_exclude__ = Base.__history_exclude__ | {"body"}

    # SET NULL: the note stays with its subject if the author's record goes.
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), nullable=True, index=True
    )
    subject_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    # The team in which the author leads the subject when the note was written.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"), nullable=True)
    body: Mapped[str] = mapped_column(Text)

    author: Mapped[Person | None] = relationship(foreign_keys=[author_id], lazy="joined")
    subject: Mapped[Person] = relationship(foreign_keys=[subject_id], lazy="joined")


class PlanStatus(enum.StrEnum):
    open = "open"
    done = "done"


class DevelopmentPlan(Record, Base):
    """Support for a person after a review found a *skill* gap: goals, support, a date to look again."""

    __tablename__ = "development_plans"
    __record_type__ = "development_plan"
    __history_exclude__ = Base.__history_exclude__ | {"goals", "support"}

    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), nullable=True, index=True
    )
    goals: Mapped[str] = mapped_column(Text)
    support: Mapped[str] = mapped_column(Text, default="")
    review_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=PlanStatus.open.value)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    person: Mapped[Person] = relationship(foreign_keys=[person_id], lazy="joined")
    author: Mapped[Person | None] = relationship(foreign_keys=[author_id], lazy="joined")
