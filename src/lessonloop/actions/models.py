"""Act: a corrective action with exactly one owner, a due date and a review date."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import Boolean, ColumnElement, Date, ForeignKey, Index, Integer, String, Text, and_, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lessonloop.people.models import Person
from lessonloop.store.base import Base, Record, UTCDateTime


class ActionStatus(enum.StrEnum):
    open = "open"
    done = "done"
    dropped = "dropped"


# -- "overdue": the one definition --------------------------------------------------------------
# An action is overdue on ``today`` when it is still open and its due date is *before* today: an
# action due today is not late yet. Pages, the API, the CLI, the metrics and the digests all ask
# these three functions (a digest asks "as of" the day after its week).


def is_overdue(status: str, due_date: dt.date, today: dt.date) -> bool:
    return status == ActionStatus.open.value and due_date < today


def days_overdue(due_date: dt.date, today: dt.date) -> int:
    """How many days late an overdue action is on ``today`` (1 the day after it was due)."""
    return (today - due_date).days


def overdue_clause(today: dt.date, action: Any = None) -> ColumnElement[bool]:
    """The SQL twin of :func:`is_overdue` (``action``: the Action entity or an alias)."""
    action = Action if action is None else action
    return and_(action.status == ActionStatus.open.value, action.due_date < today)


# -- "in the past": the one definition for due dates ---------------------------------------------
# A new action's due date may not be before today in UTC unless it is an explicit back-fill (an
# action recorded after the fact). The services, the API, the CLI and the pages all ask these two.


def today_utc() -> dt.date:
    """Today's calendar date in UTC: the "today" a due date is compared with."""
    return dt.datetime.now(dt.UTC).date()


def is_past(day: dt.date, today: dt.date | None = None) -> bool:
    """Whether ``day`` is before ``today`` (default :func:`today_utc`); today itself is not past."""
    return day < (today if today is not None else today_utc())


class Action(Record, Base):
    __tablename__ = "actions"
    __record_type__ = "action"
    __search_kind__ = "action"
    __table_args__ = (
        Index("ix_actions_owner_status_due", "owner_id", "status", "due_date"),
        # The action board: open actions earliest due first, the latest done (migration 0023);
        # with the failure, "overdue today" is counted off it and ix_failures_id_cover (0026).
        Index("ix_actions_status_due_cover", "status", "due_date", "id", "failure_id"),
        Index("ix_actions_status_closed", "status", "closed_at"),
        # At most one primary action per review, even for two requests at once (migration 0010).
        Index(
            "uq_actions_one_primary",
            "review_id",
            unique=True,
            sqlite_where=text("is_primary"),
            postgresql_where=text("is_primary"),
        ),
    )

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
        return is_overdue(self.status, self.due_date, today)

    def search_document(self) -> tuple[str, str]:
        return self.title, "\n".join(p for p in (self.evidence, self.drop_reason) if p)
