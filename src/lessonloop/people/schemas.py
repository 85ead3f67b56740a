"""What goes out about people and teams (API responses and `--json`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


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
