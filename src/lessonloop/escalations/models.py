"""Re-evaluate: a persistent pattern of repeats that needs support beyond the team."""

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
    team = "team"  # the same team repeating


class SupportRoute(enum.StrEnum):
    """The seed's "when the situation needs extra support"."""

    od_specialist = "organisational-development-specialist"
    leadership_coach = "external-leadership-coach"
    hr_partner = "hr-business-partner"
    employee_assistance = "employee-assistance"


ROUTE_LABELS: dict[SupportRoute, str] = {
    SupportRoute.od_specialist: "organisational development specialist (systemic process design)",
    SupportRoute.leadership_coach: "external leadership coach or facilitator (leader–team communication)",
    SupportRoute.hr_partner: "HR business partner (performance reviews, promotions or legal risk)",
    SupportRoute.employee_assistance: "employee assistance / occupational health (stress after repeated high-stakes errors)",
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

    owner: Mapped[Person | None] = relationship(lazy="joined")
