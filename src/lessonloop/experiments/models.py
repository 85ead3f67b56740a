"""Act: a small bet that validates a fix, with explicit success criteria."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lessonloop.store.base import Base, Record, UTCDateTime, utcnow


class Experiment(Record, Base):
    __tablename__ = "experiments"
    __record_type__ = "experiment"

    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"), index=True)
    hypothesis: Mapped[str] = mapped_column(Text)
    metric: Mapped[str] = mapped_column(String(200))
    comparator: Mapped[str] = mapped_column(String(2))
    threshold: Mapped[float] = mapped_column(Float)
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)

    observations: Mapped[list[Observation]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="(Observation.observed_at, Observation.id)"
    )


class Observation(Record, Base):
    __tablename__ = "observations"
    __record_type__ = "observation"

    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"), index=True)
    value: Mapped[float] = mapped_column(Float)
    observed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")
