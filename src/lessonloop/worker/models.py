"""What the worker records besides notifications.

* ``JobRun``: one row per (job, period) for jobs that run daily or weekly, written in the same
  transaction as the job's work, so a period's run happens once even with several workers.
* ``ActionCheck``: the owner's answer to "did this work?" on an action's review date.
* ``ReflectionSession``: a session to reflect on a high/critical failure, with a date (shown in
  calendars), proposed by the worker or scheduled by hand, then held, with notes. Its service is
  :mod:`lessonloop.reflections.service`.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lessonloop.store.base import Base, Record, UTCDateTime, utcnow


class Worked(enum.StrEnum):
    yes = "yes"
    no = "no"
    partly = "partly"


class ReflectionStatus(enum.StrEnum):
    proposed = "proposed"
    held = "held"
    cancelled = "cancelled"


class JobRun(Record, Base):
    __tablename__ = "worker_job_runs"
    __record_type__ = "job_run"
    __history_skip__ = True
    __table_args__ = (UniqueConstraint("job", "period", name="uq_worker_job_runs_job_period"),)

    job: Mapped[str] = mapped_column(String(80))
    period: Mapped[str] = mapped_column(String(40))  # e.g. 2026-05-04 (daily), 2026-W19 (weekly)
    finished_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    summary: Mapped[str] = mapped_column(Text, default="")


class ActionCheck(Record, Base):
    __tablename__ = "action_checks"
    __record_type__ = "action_check"

    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), nullable=True)
    worked: Mapped[str] = mapped_column(String(8))
    note: Mapped[str] = mapped_column(Text, default="")
    checked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    def history_label(self) -> str:
        return f"check of action {self.action_id}: {self.worked}"


class ReflectionSession(Record, Base):
    __tablename__ = "reflection_sessions"
    __record_type__ = "reflection_session"

    failure_id: Mapped[int] = mapped_column(ForeignKey("failures.id", ondelete="CASCADE"), unique=True)
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), nullable=True, index=True
    )
    facilitator_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), nullable=True, index=True
    )
    title: Mapped[str] = mapped_column(String(400))
    scheduled_for: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=ReflectionStatus.proposed.value)
    notes: Mapped[str] = mapped_column(Text, default="")
    held_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    def history_label(self) -> str:
        return f"reflection session {self.id} on failure {self.failure_id}"
