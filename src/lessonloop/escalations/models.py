"""Re-evaluate: a persistent pattern of repeats that needs support beyond the team.

One escalation is one pattern: one cause label, one failed assumption, or one chain of failures
confirmed as repeats of each other. Its route follows from the pattern (the gap type its reviews
name), never from words in free text; HR and employee assistance are chosen by a person.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lessonloop.people.models import Person
from lessonloop.store.base import Base, Record, UTCDateTime, utcnow


class EscalationRule(enum.StrEnum):
    label = "label"  # the same cause label
    assumption = "assumption"  # the same failed assumption
    chain = "chain"  # one chain of failures confirmed as repeats (subject_key: the first one's id)
    team = "team"  # before 0013: "a team repeating" (no longer opened: it lumped unrelated failures)


class SupportRoute(enum.StrEnum):
    """The seed's "when the situation needs extra support".

    The first two follow from the pattern (``escalations.service.recommend_route``); the last two
    only a lead or admin chooses, with a reason (``update_escalation``)."""

    od_specialist = "organisational-development-specialist"
    leadership_coach = "external-leadership-coach"
    hr_partner = "hr-business-partner"
    employee_assistance = "employee-assistance"


#: Routes only a person chooses (with a reason); choosing one narrows who sees the escalation.
CHOSEN_ROUTES = frozenset({SupportRoute.hr_partner, SupportRoute.employee_assistance})

ROUTE_LABELS: dict[SupportRoute, str] = {
    SupportRoute.od_specialist: "organisational development specialist (process and context design)",
    SupportRoute.leadership_coach: "leadership coach or mentor (a skill pattern of one person)",
    SupportRoute.hr_partner: "HR business partner (chosen by a lead or admin)",
    SupportRoute.employee_assistance: "employee assistance / occupational health (chosen by a lead or admin)",
}


class EscalationStatus(enum.StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    resolved = "resolved"


class Escalation(Record, Base):
    __tablename__ = "escalations"
    __record_type__ = "escalation"
    __table_args__ = (Index("ix_escalations_rule_subject", "rule", "subject_key"),)

    rule: Mapped[str] = mapped_column(String(16))
    subject_key: Mapped[str] = mapped_column(String(300))  # label text, assumption id or team id
    subject: Mapped[str] = mapped_column(String(500))  # what people read
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"), nullable=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=EscalationStatus.open.value, index=True)
    support_route: Mapped[str] = mapped_column(String(48))
    failure_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    count: Mapped[int] = mapped_column(Integer)
    window_days: Mapped[int] = mapped_column(Integer)
    explanation: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolution: Mapped[str] = mapped_column(Text, default="")
    # Why this route: the pattern's reason, or the reason a lead/admin gave for HR / assistance.
    route_reason: Mapped[str] = mapped_column(Text, default="")
    # The person it is about, when it is private: a skill pattern of one person (leadership coach)
    # or the person named when HR / employee assistance was chosen. Plain numbers like
    # ``calendar_tokens.created_by_id`` (0011): ids are never reused (0010).
    person_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Who chose HR / employee assistance (NULL: a system job, or not chosen).
    chosen_by_id: Mapped[int | None] = mapped_column(Integer, nullable=True)

    owner: Mapped[Person | None] = relationship(lazy="joined")
