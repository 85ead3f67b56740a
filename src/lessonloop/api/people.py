"""People, teams and memberships. A person is referred to by id, handle or e-mail; a team by id or name."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from lessonloop.api.common import ERROR_RESPONSES
from lessonloop.api.deps import CurrentViewer, DbSession
from lessonloop.api.one_thread import OneThreadRoute
from lessonloop.people import service
from lessonloop.people.models import Role, Team
from lessonloop.people.schemas import MembershipOut, PersonOut, TeamOut

router = APIRouter(route_class=OneThreadRoute, tags=["people"], responses=ERROR_RESPONSES)

Ref = int | str


class PersonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200, examples=["Ana Ruiz"])
    handle: str | None = Field(default=None, max_length=64, examples=["ana"])
    email: str | None = Field(default=None, max_length=320, examples=["ana@example.com"])


class TeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=120, examples=["Payments"])
    description: str = Field(default="", max_length=2000)


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person: Ref = Field(description="Person id, handle or e-mail.", examples=["ana"])
    role: Role = Role.member


class MemberOut(BaseModel):
    person: PersonOut
    role: str


class TeamDetailOut(TeamOut):
    """A team with its members spelled out, sorted by handle."""

    members: list[MemberOut] = []


def _team_detail(team: Team) -> TeamDetailOut:
    members = sorted(team.memberships, key=lambda m: m.person.handle)
    return TeamDetailOut(
        **TeamOut.model_validate(team).model_dump(),
        members=[MemberOut(person=PersonOut.model_validate(m.person), role=m.role) for m in members],
    )


@router.post("/people", status_code=201)
def add_person(body: PersonIn, session: DbSession, viewer: CurrentViewer) -> PersonOut:
    """Add a person (org admins); the handle defaults to one made from the name."""
    person = service.add_person(session, name=body.name, handle=body.handle, email=body.email, viewer=viewer)
    return PersonOut.model_validate(person)


@router.get("/people")
def list_people(session: DbSession) -> list[PersonOut]:
    """Everyone, by handle."""
    return [PersonOut.model_validate(p) for p in service.list_people(session)]


@router.get("/people/{person}")
def get_person(person: str, session: DbSession) -> PersonOut:
    """A person by id, handle or e-mail."""
    return PersonOut.model_validate(service.get_person(session, person))


@router.post("/teams", status_code=201)
def add_team(body: TeamIn, session: DbSession, viewer: CurrentViewer) -> TeamDetailOut:
    """Add a team (org admins; names are unique, case-insensitively)."""
    return _team_detail(
        service.add_team(session, name=body.name, description=body.description, viewer=viewer)
    )


@router.get("/teams")
def list_teams(session: DbSession) -> list[TeamOut]:
    """Every team, by name, with its memberships."""
    return [TeamOut.model_validate(t) for t in service.list_teams(session)]


@router.get("/teams/{team}")
def get_team(team: str, session: DbSession) -> TeamDetailOut:
    """A team by id or name, with its members."""
    return _team_detail(service.get_team(session, team))


@router.post("/teams/{team}/members")
def add_member(team: str, body: MemberIn, session: DbSession, viewer: CurrentViewer) -> MembershipOut:
    """Add a person to a team, or change their role in it (the same call): org admins and the
    team's leads and admins."""
    membership = service.add_member(session, team=team, person=body.person, role=body.role, viewer=viewer)
    return MembershipOut.model_validate(membership)
