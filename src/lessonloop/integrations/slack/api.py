"""The Slack app's JSON API (``/api/v1/slack/...``), mounted with the app when it is configured.

For org admins (the services refuse others with 403): map people to Slack users by the e-mail on
file, list and remove links, and give a team its channel (also the team's leads). People link
themselves from their account page instead. No route takes a record id: the person or team is
named in the body, like everywhere a handle may be used.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from lessonloop.api.common import ERROR_RESPONSES
from lessonloop.api.deps import CurrentViewer, DbSession, current_actor
from lessonloop.api.one_thread import OneThreadRoute
from lessonloop.api.text_guard import refuse_unstorable_text
from lessonloop.integrations.slack import links, team_channels
from lessonloop.integrations.slack.client import web_client
from lessonloop.integrations.slack.models import SlackIdentity

router = APIRouter(
    route_class=OneThreadRoute,
    prefix="/slack",
    tags=["slack"],
    responses=ERROR_RESPONSES,
    dependencies=[Depends(current_actor), Depends(refuse_unstorable_text)],
)


class PersonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person: str = Field(min_length=1, max_length=320, description="Id, handle or e-mail of the person.")


class TeamChannelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    team: str = Field(min_length=1, max_length=200, description="Team id or name.")
    channel_id: str = Field(min_length=1, max_length=32, description="Slack channel id, e.g. C0123ABCD.")


class LinkOut(BaseModel):
    person_id: int
    handle: str
    slack_user_id: str
    linked_by: str


class TeamChannelOut(BaseModel):
    team_id: int
    channel_id: str


class UnlinkedOut(BaseModel):
    unlinked: bool


def _out(identity: SlackIdentity) -> LinkOut:
    return LinkOut(
        person_id=identity.person_id,
        handle=identity.person.handle,
        slack_user_id=identity.slack_user_id,
        linked_by=identity.linked_by,
    )


@router.get("/links")
def list_links(session: DbSession, viewer: CurrentViewer) -> list[LinkOut]:
    """Who is linked to which Slack user (org admins)."""
    return [_out(i) for i in links.list_links(session, viewer=viewer)]


@router.post("/links/by-email", status_code=201)
def map_by_email(body: PersonIn, request: Request, session: DbSession, viewer: CurrentViewer) -> LinkOut:
    """Link a person to the Slack user with their e-mail on file (``users.lookupByEmail``);
    404 when Slack has no such user."""
    client = web_client(request.app.state.settings)
    return _out(links.map_by_email(session, body.person, client, viewer=viewer))


@router.post("/links/unlink")
def unlink(body: PersonIn, session: DbSession, viewer: CurrentViewer) -> UnlinkedOut:
    """Forget a person's Slack link (themself or an org admin)."""
    return UnlinkedOut(unlinked=links.unlink(session, body.person, viewer=viewer))


@router.put("/team-channels")
def set_team_channel(body: TeamChannelIn, session: DbSession, viewer: CurrentViewer) -> TeamChannelOut:
    """Post a team's weekly digest and published lessons to a channel (org admins, team leads)."""
    row = team_channels.set_team_channel(session, body.team, body.channel_id, viewer=viewer)
    return TeamChannelOut(team_id=row.team_id, channel_id=row.channel_id)
