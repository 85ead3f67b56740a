"""Interpret: the short, structured, blameless review and the assumptions it names."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lessonloop.people.models import Person
from lessonloop.store.base import Base, Record, UTCDateTime


class GapType(enum.StrEnum):
    skill = "skill"
    process = "process"
    context = "context"
    resourcing = "resourcing"


class ReviewStatus(enum.StrEnum):
    draft = "draft"
    completed = "completed"


class AssumptionStatus(enum.StrEnum):
    held = "held"
    failed = "failed"
    validated = "validated"


review_assumptions = Table(
    "review_assumptions",
    Base.metadata,
    Column("review_id", ForeignKey("reviews.id", ondelete="CASCADE"), primary_key=True),
    Column("assumption_id", ForeignKey("assumptions.id", ondelete="CASCADE"), primary_key=True),
    # The visibility group of the review's failure (its ``visibility`` and ``coalesce(team_id,
    # 0)``, as ``failure_counts`` keys them), written by the database's triggers only (migration
    # 0030): on insert, and again when the failure's visibility or team or the review's failure
    # changes. A person's count of an assumption's reviews is then an index-only count of the
    # groups they see whole (``signals.metrics``, decision 73); never set by the application.
    Column("visibility", String(16), nullable=True),
    Column("team_key", Integer, nullable=True),
    # Its prefix serves every lookup by assumption (the former index on assumption_id alone).
    Index("ix_review_assumptions_group", "assumption_id", "visibility", "team_key"),
)

review_reviewers = Table(
    "review_reviewers",
    Base.metadata,
    Column("review_id", ForeignKey("reviews.id", ondelete="CASCADE"), primary_key=True),
    Column("person_id", ForeignKey("people.id", ondelete="CASCADE"), primary_key=True),
)


class Assumption(Record, Base):
    """A belief that guided a decision. Its own record so a failing assumption can be counted."""

    __tablename__ = "assumptions"
    __record_type__ = "assumption"
    __search_kind__ = "assumption"

    statement: Mapped[str] = mapped_column(Text)
    # Lower-cased, whitespace-collapsed statement: the same assumption typed twice is one record.
    key: Mapped[str] = mapped_column(String(500), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=AssumptionStatus.held.value)

    reviews: Mapped[list[Review]] = relationship(
        secondary=review_assumptions, back_populates="assumptions", lazy="selectin", viewonly=True
    )

    def search_document(self) -> tuple[str, str]:
        return self.statement, ""

    def history_label(self) -> str:
        return self.statement


class Review(Record, Base):
    __tablename__ = "reviews"
    __record_type__ = "review"
    __search_kind__ = "review"

    failure_id: Mapped[int] = mapped_column(ForeignKey("failures.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=ReviewStatus.draft.value)
    # The three diagnostic questions.
    assumption_text: Mapped[str] = mapped_column(Text, default="")  # what assumption guided the decision?
    evidence: Mapped[str] = mapped_column(Text, default="")  # what evidence did we have?
    what_changed: Mapped[str] = mapped_column(Text, default="")  # what changed?
    root_cause: Mapped[str] = mapped_column(Text, default="")
    gap_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    gap_justification: Mapped[str] = mapped_column(String(500), default="")
    contributing_factors: Mapped[list[str]] = mapped_column(JSON, default=list)
    held_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Answers to the extra questions of the review template of the failure's kind, by question key
    # (text, a list of texts, or a timeline of {"time", "text"}): reviews/templates.py.
    extra_answers: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    # Blame-language findings in the answers, kept by the coach's flush hook (signals/annotate.py)
    # so the metrics read a column instead of re-reading every review.
    blame_findings: Mapped[int] = mapped_column(Integer, default=0)

    assumptions: Mapped[list[Assumption]] = relationship(
        secondary=review_assumptions, back_populates="reviews", lazy="selectin"
    )
    reviewers: Mapped[list[Person]] = relationship(secondary=review_reviewers, lazy="selectin")

    def search_document(self) -> tuple[str, str]:
        body = "\n".join(
            [
                self.assumption_text,
                self.evidence,
                self.what_changed,
                self.root_cause,
                self.gap_justification,
                *self.contributing_factors,
                *_extra_texts(self.extra_answers),
            ]
        )
        return self.root_cause[:300], body


def _extra_texts(answers: dict[str, object] | None) -> list[str]:
    """The extra answers' words, for the search index."""
    out: list[str] = []
    for value in (answers or {}).values():
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, dict):
                out.append(" ".join(str(v) for v in item.values()))
            elif item:
                out.append(str(item))
    return out


class ReviewTemplate(Record, Base):
    """An org admin's review template for one failure kind: the extra questions its reviews ask
    (after the three diagnostic questions). A kind without a row uses the code's default."""

    __tablename__ = "review_templates"
    __record_type__ = "review_template"

    kind: Mapped[str] = mapped_column(String(32), unique=True)
    # Ordered: [{"key", "label", "help", "type", "required", "max_items"}, ...]
    questions: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)

    def history_label(self) -> str:
        return f"review template for {self.kind}"
