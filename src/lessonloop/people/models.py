"""People and teams: who is involved, who owns actions, who should hear a lesson."""

from __future__ import annotations

import enum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lessonloop.store.base import Base, Record


class Role(enum.StrEnum):
    member = "member"
    lead = "lead"
    admin = "admin"


class Person(Record, Base):
    __tablename__ = "people"
    __record_type__ = "person"

    handle: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), unique=True, nullable=True)

    # Loaded on access, not with every person: a person comes along with every failure listed
    # (reporter, people involved), and eager memberships would drag in whole team rosters
    # (docs/performance.md). Lists that show memberships ask for them (``list_teams``).
    memberships: Mapped[list[Membership]] = relationship(
        back_populates="person", cascade="all, delete-orphan", lazy="select"
    )

    def history_label(self) -> str:
        return self.handle


class Team(Record, Base):
    __tablename__ = "teams"
    __record_type__ = "team"

    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(String(2000), default="")

    # Loaded on access, like Person.memberships: a team comes along with every failure listed.
    memberships: Mapped[list[Membership]] = relationship(
        back_populates="team", cascade="all, delete-orphan", lazy="select"
    )

    def history_label(self) -> str:
        return self.name


class Membership(Record, Base):
    __tablename__ = "memberships"
    __record_type__ = "membership"
    __table_args__ = (UniqueConstraint("team_id", "person_id", name="uq_memberships_team_person"),)

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16), default=Role.member.value)

    team: Mapped[Team] = relationship(back_populates="memberships", lazy="joined")
    person: Mapped[Person] = relationship(back_populates="memberships", lazy="joined")
