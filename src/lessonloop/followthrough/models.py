"""Follow-through: versioned checklists, guardrails with an expiry, and recognition.

A checklist (or template, or set of decision criteria) is a name plus an append-only list of
revisions; every revision after the first remembers the failure that prompted it, so "what
changed because of failure #N" and "which failures shaped this checklist" are plain queries.
``failure_ref`` keeps the failure's number even after the failure itself is deleted (the foreign
key is then set to NULL).
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lessonloop.people.models import Person, Team
from lessonloop.store.base import Base, Record, UTCDateTime, utcnow


class ChecklistKind(enum.StrEnum):
    checklist = "checklist"
    template = "template"
    decision_criteria = "decision-criteria"


class Checklist(Record, Base):
    __tablename__ = "checklists"
    __record_type__ = "checklist"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32), default=ChecklistKind.checklist.value)

    revisions: Mapped[list[ChecklistRevision]] = relationship(
        back_populates="checklist",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="ChecklistRevision.version",
    )

    @property
    def latest(self) -> ChecklistRevision:
        return self.revisions[-1]

    def history_label(self) -> str:
        return self.name


class ChecklistRevision(Record, Base):
    __tablename__ = "checklist_revisions"
    __record_type__ = "checklist_revision"
    __table_args__ = (UniqueConstraint("checklist_id", "version", name="uq_checklist_revisions_version"),)

    checklist_id: Mapped[int] = mapped_column(ForeignKey("checklists.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    items: Mapped[list[str]] = mapped_column(JSON, default=list)
    reason: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), nullable=True)
    failure_id: Mapped[int | None] = mapped_column(
        ForeignKey("failures.id", ondelete="SET NULL"), nullable=True, index=True
    )
    # The prompting failure's number, kept when the failure is deleted (no foreign key).
    failure_ref: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    lesson_id: Mapped[int | None] = mapped_column(
        ForeignKey("lessons.id", ondelete="SET NULL"), nullable=True, index=True
    )

    checklist: Mapped[Checklist] = relationship(back_populates="revisions", lazy="joined")
    author: Mapped[Person | None] = relationship(lazy="joined")


class GuardrailStatus(enum.StrEnum):
    active = "active"
    expired = "expired"  # past its expiry: needs a decision (renew or retire)
    renewed = "renewed"
    retired = "retired"


class Guardrail(Record, Base):
    """A short-term adjustment of scope or risk tolerance, with an owner, an expiry and a way back."""

    __tablename__ = "guardrails"
    __record_type__ = "guardrail"
    __table_args__ = (Index("ix_guardrails_status_expires", "status", "expires_on"),)

    title: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(Text, default="")
    rollback_plan: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"), index=True)
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), nullable=True, index=True
    )
    failure_id: Mapped[int | None] = mapped_column(
        ForeignKey("failures.id", ondelete="SET NULL"), nullable=True, index=True
    )
    starts_on: Mapped[dt.date] = mapped_column(Date)
    expires_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=GuardrailStatus.active.value)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    owner: Mapped[Person] = relationship(lazy="joined")
    team: Mapped[Team | None] = relationship(lazy="joined")
    decisions: Mapped[list[GuardrailDecision]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="GuardrailDecision.id"
    )

    def history_label(self) -> str:
        return self.title


class GuardrailDecision(Record, Base):
    """A renewal or retirement, with its reason: the guardrail's decision log."""

    __tablename__ = "guardrail_decisions"
    __record_type__ = "guardrail_decision"

    guardrail_id: Mapped[int] = mapped_column(ForeignKey("guardrails.id", ondelete="CASCADE"), index=True)
    decision: Mapped[str] = mapped_column(String(16))  # renewed | retired
    reason: Mapped[str] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), nullable=True
    )
    previous_expiry: Mapped[dt.date] = mapped_column(Date)
    new_expiry: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    decided_by: Mapped[Person | None] = relationship(lazy="joined")


class RecognitionKind(enum.StrEnum):
    candid_review = "candid-review"
    validated_fix = "validated-fix"
    shared_lesson = "shared-lesson"
    win = "win"


class Recognition(Record, Base):
    """Credit for learning and correction: a candid review, a validated fix, a shared lesson, a win."""

    __tablename__ = "recognitions"
    __record_type__ = "recognition"
    __table_args__ = (Index("ix_recognitions_team_created", "team_id", "created_at"),)

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"), nullable=True)
    kind: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    given_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), nullable=True
    )
    failure_id: Mapped[int | None] = mapped_column(
        ForeignKey("failures.id", ondelete="SET NULL"), nullable=True, index=True
    )
    lesson_id: Mapped[int | None] = mapped_column(
        ForeignKey("lessons.id", ondelete="SET NULL"), nullable=True
    )
    experiment_id: Mapped[int | None] = mapped_column(
        ForeignKey("experiments.id", ondelete="SET NULL"), nullable=True
    )

    person: Mapped[Person] = relationship(foreign_keys=[person_id], lazy="joined")
    given_by: Mapped[Person | None] = relationship(foreign_keys=[given_by_id], lazy="joined")
    team: Mapped[Team | None] = relationship(lazy="joined")
