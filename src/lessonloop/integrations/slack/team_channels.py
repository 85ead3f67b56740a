"""Each team's Slack channel, where its weekly digest and its published lessons are posted.

Set by an org admin or the team's leads and admins (:func:`~lessonloop.access.policy.can_manage_team`).
What is posted there is always what a plain member of the team may see (``posts.py``).
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor, is_person, require_actor
from lessonloop.access.policy import can_manage_team
from lessonloop.errors import Invalid, PermissionDenied
from lessonloop.integrations.slack.models import SlackTeamChannel
from lessonloop.people.service import TeamRef, get_team

_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,31}")


def set_team_channel(session: Session, team: TeamRef, channel_id: str, *, viewer: Actor) -> SlackTeamChannel:
    """Post ``team``'s digest and lessons to ``channel_id`` (a Slack channel id such as
    ``C0123ABCD``; the bot must be invited to it)."""
    require_actor(viewer)
    team_obj = get_team(session, team, viewer=viewer)
    if is_person(viewer) and not can_manage_team(viewer, team_obj.id):
        raise PermissionDenied(
            "only an org admin or the team's leads may set its Slack channel", field="team"
        )
    value = (channel_id or "").strip()
    if not _CHANNEL_ID.fullmatch(value):
        raise Invalid(f"is not a Slack channel id (like C0123ABCD): {value!r}", field="channel_id")
    row = session.scalar(select(SlackTeamChannel).where(SlackTeamChannel.team_id == team_obj.id))
    if row is None:
        row = SlackTeamChannel(team_id=team_obj.id, channel_id=value)
        session.add(row)
    else:
        row.channel_id = value
    session.flush()
    return row


def clear_team_channel(session: Session, team: TeamRef, *, viewer: Actor) -> bool:
    """Stop posting for ``team``; ``False`` when it had no channel."""
    require_actor(viewer)
    team_obj = get_team(session, team, viewer=viewer)
    if is_person(viewer) and not can_manage_team(viewer, team_obj.id):
        raise PermissionDenied(
            "only an org admin or the team's leads may change its Slack channel", field="team"
        )
    row = session.scalar(select(SlackTeamChannel).where(SlackTeamChannel.team_id == team_obj.id))
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def team_channels(session: Session, *, viewer: Actor) -> list[SlackTeamChannel]:
    require_actor(viewer)
    return list(session.scalars(select(SlackTeamChannel).order_by(SlackTeamChannel.team_id)))
