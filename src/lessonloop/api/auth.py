"""Who am I, and my API tokens: create (the plaintext is shown once), list, revoke."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from lessonloop.accounts.schemas import IssueToken
from lessonloop.accounts.service import account_of, issue_token, list_tokens, revoke_token
from lessonloop.api.common import ERROR_RESPONSES
from lessonloop.api.deps import CurrentPrincipal, CurrentViewer, DbSession
from lessonloop.api.one_thread import OneThreadRoute
from lessonloop.people.models import Membership, Team
from lessonloop.people.schemas import PersonOut
from lessonloop.people.service import get_person

router = APIRouter(route_class=OneThreadRoute, tags=["auth"], responses=ERROR_RESPONSES)


class TokenOut(BaseModel):
    """A token as listed: never the plaintext, never its digest."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    prefix: str = Field(description="The first characters of the token, to tell tokens apart.")
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class NewTokenOut(TokenOut):
    token: str = Field(description="The token itself. Shown this once: only its SHA-256 is kept.")


class TeamRoleOut(BaseModel):
    team_id: int
    team: str
    role: str


class MeOut(BaseModel):
    person: PersonOut
    is_admin: bool = Field(description="Org admin (the account flag).")
    has_account: bool = Field(description="False for a person who has a token but no password.")
    teams: list[TeamRoleOut]
    authenticated_by: str = Field(description="token or session")


@router.get("/me")
def me(principal: CurrentPrincipal, session: DbSession, viewer: CurrentViewer) -> MeOut:
    """The signed-in person, whether they are an org admin, and their teams and roles."""
    person = get_person(session, principal.person_id, viewer=viewer)
    rows = session.execute(
        select(Membership.team_id, Team.name, Membership.role)
        .join(Team, Team.id == Membership.team_id)
        .where(Membership.person_id == person.id)
        .order_by(Team.name)
    ).all()
    return MeOut(
        person=PersonOut.model_validate(person),
        is_admin=principal.viewer.is_admin,
        has_account=account_of(session, person) is not None,
        teams=[TeamRoleOut(team_id=tid, team=name, role=role) for tid, name, role in rows],
        authenticated_by=principal.via,
    )


@router.post("/auth/tokens", status_code=201)
def create_token(
    body: IssueToken, principal: CurrentPrincipal, session: DbSession, response: Response
) -> NewTokenOut:
    """A new API token for the signed-in person. **The token is in this answer only**: keep it."""
    token, plaintext = issue_token(session, principal.person_id, **body.model_dump())
    response.headers["Cache-Control"] = "no-store"
    return NewTokenOut(**TokenOut.model_validate(token).model_dump(), token=plaintext)


@router.get("/auth/tokens")
def my_tokens(principal: CurrentPrincipal, session: DbSession) -> list[TokenOut]:
    """The signed-in person's tokens, revoked ones included (``revoked_at`` set)."""
    return [TokenOut.model_validate(t) for t in list_tokens(session, principal.person_id)]


@router.delete("/auth/tokens/{token_id}")
def revoke(token_id: int, principal: CurrentPrincipal, session: DbSession) -> TokenOut:
    """Revoke one of your tokens (an org admin may revoke anyone's; others' are 404). Revoking
    twice is harmless. The token that signed this request may revoke itself."""
    return TokenOut.model_validate(revoke_token(session, principal.person_id, token_id))
