"""Observe: a failure is a mistake, missed target or poor outcome, logged in under a minute."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Column, Float, ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lessonloop.people.models import Person, Team
from lessonloop.store.base import Base, Record, UTCDateTime


class FailureKind(enum.StrEnum):
    missed_deadline = "missed-deadline"
    churn_after_change = "churn-after-change"
    wrong_assumption = "wrong-assumption"
    handoff_breakdown = "handoff-breakdown"
    changed_conditions = "changed-conditions"
    skipped_check = "skipped-check"
    knowledge_gap = "knowledge-gap"
    resource_squeeze = "resource-squeeze"
    ambiguous_metric = "ambiguous-metric"
    other = "other"


KIND_LABELS: dict[FailureKind, str] = {
    FailureKind.missed_deadline: "missed deadline",
    FailureKind.churn_after_change: "customer churn after a change",
    FailureKind.wrong_assumption: "wrong assumption or model in production",
    FailureKind.handoff_breakdown: "hand-off breakdown",
    FailureKind.changed_conditions: "changed market or conditions",
    FailureKind.skipped_check: "skipped check or approval",
    FailureKind.knowledge_gap: "knowledge gap after turnover",
    FailureKind.resource_squeeze: "budget or resource squeeze",
    FailureKind.ambiguous_metric: "ambiguous metric",
    FailureKind.other: "other",
}


class Severity(enum.StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class Visibility(enum.StrEnum):
    private = "private"
    team = "team"
    org = "org"


class FailureStatus(enum.StrEnum):
    observed = "observed"
    in_review = "in-review"
    acting = "acting"
    re_evaluating = "re-evaluating"
    learned = "learned"
    repeated = "repeated"


failure_people = Table(
    "failure_people",
    Base.metadata,
    Column("failure_id", ForeignKey("failures.id", ondelete="CASCADE"), primary_key=True),
    Column("person_id", ForeignKey("people.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Failure(Record, Base):
    __tablename__ = "failures"
    __record_type__ = "failure"
    __search_kind__ = "failure"
    __table_args__ = (
        Index("ix_failures_team_status", "team_id", "status"),
        # The list's order, detected_at DESC, id DESC, straight off the index (migration 0007),
        # with the visibility rule's columns: a page's ids are found off the index alone (0025).
        Index("ix_failures_list_cover", "detected_at", "id", "visibility", "team_id", "reporter_id"),
        # Every column of the visibility rule: the visible count scans this, not the table (0007).
        Index("ix_failures_visibility_cover", "team_id", "reporter_id", "visibility", "id"),
        # What the learning metrics count per team and month, with the visibility columns (0008).
        Index("ix_failures_metrics", "team_id", "detected_at", "repeat_of_id", "visibility", "reporter_id"),
        # A range of detection dates (the charts' 12 months, the insights' window) with the
        # columns the metrics read and the visibility rule's: counted off the index alone (0023).
        Index(
            "ix_failures_detected_cover",
            "detected_at",
            "repeat_of_id",
            "visibility",
            "team_id",
            "reporter_id",
            "status",
            "id",
        ),
        # A list of one status, newest first, with the visibility columns: the dashboard's
        # "awaiting review" and the filtered list read a page and count off it (0023).
        Index(
            "ix_failures_status_detected",
            "status",
            "detected_at",
            "id",
            "visibility",
            "team_id",
            "reporter_id",
        ),
        # A person's own failures, for the list's total (failures/counts.py, migration 0024),
        # with the columns that say whether one is in a group they see whole (0025).
        Index("ix_failures_reporter_cover", "reporter_id", "visibility", "team_id"),
        # A failure's visibility columns by id: "actions overdue today" checks each overdue
        # action's failure off the index alone, not by reading its row (migration 0026).
        Index("ix_failures_id_cover", "id", "visibility", "team_id", "reporter_id"),
    )

    external_id: Mapped[str | None] = mapped_column(String(200), unique=True, nullable=True)
    title: Mapped[str] = mapped_column(String(300))
    observation: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(32), default=FailureKind.other.value, index=True)
    severity: Mapped[str] = mapped_column(String(16), default=Severity.medium.value)
    visibility: Mapped[str] = mapped_column(String(16), default=Visibility.team.value)
    status: Mapped[str] = mapped_column(String(16), default=FailureStatus.observed.value, index=True)
    occurred_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    detected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"), nullable=True)
    reporter_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), nullable=True
    )
    impact: Mapped[str] = mapped_column(Text, default="")
    impact_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    impact_unit: Mapped[str | None] = mapped_column(String(40), nullable=True)
    source: Mapped[str | None] = mapped_column(String(120), nullable=True)
    company: Mapped[str | None] = mapped_column(String(200), nullable=True)
    url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    repeat_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("failures.id", ondelete="SET NULL"), nullable=True, index=True
    )

    team: Mapped[Team | None] = relationship(lazy="joined")
    reporter: Mapped[Person | None] = relationship(foreign_keys=[reporter_id], lazy="joined")
    people: Mapped[list[Person]] = relationship(secondary=failure_people, lazy="selectin", order_by=Person.id)
    label_rows: Mapped[list[FailureLabel]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="FailureLabel.label"
    )

    @property
    def labels(self) -> list[str]:
        return [row.label for row in self.label_rows]

    def search_document(self) -> tuple[str, str]:
        parts = [self.observation, self.impact, " ".join(self.labels), self.company or ""]
        return self.title, "\n".join(p for p in parts if p)


class FailureLabel(Base):
    """A tag or cause label; its own table so labels can be counted across failures."""

    __tablename__ = "failure_labels"
    __history_skip__ = True  # logged as a change of the failure's label_rows instead

    failure_id: Mapped[int] = mapped_column(ForeignKey("failures.id", ondelete="CASCADE"), primary_key=True)
    label: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)

    def history_label(self) -> str:
        return self.label


class FailureCount(Base):
    """How many failures there are per visibility, team (``team_key`` 0: no team) and status,
    kept by database triggers on ``failures`` (migrations 0024, 0026), so a list's total — all
    statuses, or one (the dashboard's) — is a sum of a few rows instead of a count of every
    visible failure (``failures/counts.py``, decisions 44 and 56)."""

    __tablename__ = "failure_counts"
    __history_skip__ = True  # written by the database itself, never through the ORM

    visibility: Mapped[str] = mapped_column(String(16), primary_key=True)
    team_key: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
