"""What goes in and out about people and teams (API bodies and responses, `--json`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from lessonloop import limits
from lessonloop.fields import Ref
from lessonloop.people.models import Role


class PersonOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    handle: str
    name: str
    email: str | None = None


class MembershipOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    team_id: int
    person_id: int
    role: str


class TeamOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    description: str = ""
    memberships: list[MembershipOut] = []


class AddPerson(BaseModel):
    """Add a person; the handle defaults to one made from the name."""

    model_config = ConfigDict(extra="forbid", title="PersonIn")
    name: str = Field(min_length=1, max_length=limits.PERSON_NAME_MAX, examples=["Ana Ruiz"])
    handle: str | None = Field(default=None, max_length=limits.HANDLE_MAX, examples=["ana"])
    email: str | None = Field(default=None, max_length=limits.EMAIL_MAX, examples=["ana@example.com"])


class AddTeam(BaseModel):
    """Add a team (names are unique, case-insensitively)."""

    model_config = ConfigDict(extra="forbid", title="TeamIn")
    name: str = Field(min_length=1, max_length=limits.TEAM_NAME_MAX, examples=["Payments"])
    description: str = Field(default="", max_length=limits.DESCRIPTION_MAX)


class SetMembership(BaseModel):
    """Add a person to a team, or change their role in it."""

    model_config = ConfigDict(extra="forbid", title="MemberIn")
    person: Ref = Field(description="Person id, handle or e-mail.", examples=["ana"])
    role: Role = Role.member
