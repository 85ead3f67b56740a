"""People, teams and memberships. A person is referred to by id, handle or e-mail; a team by id or name."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from lessonloop.api.common import ERROR_RESPONSES
from lessonloop.api.deps import CurrentViewer, DbSession
from lessonloop.api.one_thread import OneThreadRoute
from lessonloop.people import service
from lessonloop.people.models import Team
from lessonloop.people.schemas import (
    AddPerson,
    AddTeam,
    MembershipOut,
    PersonOut,
    SetMembership,
    TeamOut,
)

router = APIRouter(route_class=OneThreadRoute, tags=["people"], responses=ERROR_RESPONSES)


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
def add_person(body: AddPerson, session: DbSession, viewer: CurrentViewer) -> PersonOut:
    """Add a person (org admins); the handle defaults to one made from the name."""
    person = service.add_person(session, **body.model_dump(), viewer=viewer)
    return PersonOut.model_validate(person)


@router.get("/people")
def list_people(session: DbSession, viewer: CurrentViewer) -> list[PersonOut]:
    """Everyone, by handle."""
    return [PersonOut.model_validate(p) for p in service.list_people(session, viewer=viewer)]


@router.get("/people/{person}")
def get_person(person: str, session: DbSession, viewer: CurrentViewer) -> PersonOut:
    """A person by id, handle or e-mail."""
    return PersonOut.model_validate(service.get_person(session, person, viewer=viewer))


@router.post("/teams", status_code=201)
def add_team(body: AddTeam, session: DbSession, viewer: CurrentViewer) -> TeamDetailOut:
    """Add a team (org admins; names are unique, case-insensitively)."""
    return _team_detail(service.add_team(session, **body.model_dump(), viewer=viewer))


@router.get("/teams")
def list_teams(session: DbSession, viewer: CurrentViewer) -> list[TeamOut]:
    """Every team, by name, with its memberships."""
    return [TeamOut.model_validate(t) for t in service.list_teams(session, viewer=viewer)]


@router.get("/teams/{team}")
def get_team(team: str, session: DbSession, viewer: CurrentViewer) -> TeamDetailOut:
    """A team by id or name, with its members."""
    return _team_detail(service.get_team(session, team, viewer=viewer))


@router.post("/teams/{team}/members")
def add_member(team: str, body: SetMembership, session: DbSession, viewer: CurrentViewer) -> MembershipOut:
    """Add a person to a team, or change their role in it (the same call): org admins and the
    team's leads and admins. Nobody changes their own role; only a lead of the team appoints a
    lead or changes a lead's role (an org admin appoints the first lead of a team with none)."""
    membership = service.add_member(session, team=team, **body.model_dump(), viewer=viewer)
    return MembershipOut.model_validate(membership)
