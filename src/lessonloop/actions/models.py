"""Act: a corrective action with exactly one owner, a due date and a review date."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lessonloop.people.models import Person
from lessonloop.store.base import Base, Record, UTCDateTime


class ActionStatus(enum.StrEnum):
    open = "open"
    done = "done"
    dropped = "dropped"


class Action(Record, Base):
    __tablename__ = "actions"
    __record_type__ = "action"
    __search_kind__ = "action"
    __table_args__ = (Index("ix_actions_owner_status_due", "owner_id", "status", "due_date"),)

    failure_id: Mapped[int] = mapped_column(ForeignKey("failures.id", ondelete="CASCADE"), index=True)
    review_id: Mapped[int | None] = mapped_column(
        ForeignKey("reviews.id", ondelete="SET NULL"), nullable=True, index=True
    )
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    title: Mapped[str] = mapped_column(String(500))
    owner_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    due_date: Mapped[dt.date] = mapped_column(Date)
    review_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=ActionStatus.open.value)
    evidence: Mapped[str] = mapped_column(Text, default="")
    drop_reason: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Specificity 0-100 from the coach, kept on write (signals/annotate.py) for the metrics.
    specificity: Mapped[int | None] = mapped_column(Integer, nullable=True)

    owner: Mapped[Person] = relationship(lazy="joined")

    def is_overdue(self, today: dt.date) -> bool:
        return self.status == ActionStatus.open.value and self.due_date < today

    def search_document(self) -> tuple[str, str]:
        return self.title, "\n".join(p for p in (self.evidence, self.drop_reason) if p)
