"""`lessonloop slack ...`: map people to Slack users by e-mail, unlink them, set team channels.

An operator's commands on the local database (the CLI acts as a named system job, like every
other command); people link themselves from their account page instead.
"""

from __future__ import annotations

from importlib import resources

import typer

from lessonloop.cli import common, render
from lessonloop.cli.app import app
from lessonloop.cli.common import LOCAL
from lessonloop.integrations.slack import links, team_channels
from lessonloop.integrations.slack.client import web_client

slack_app = typer.Typer(help="The Slack app: people's Slack links and team channels.", no_args_is_help=True)
app.add_typer(slack_app, name="slack")


@slack_app.command("map-email")
@common.handle_errors
def map_email(person: str = typer.Argument(..., help="Id, handle or e-mail of the person.")) -> None:
    """Link a person to the Slack user with their e-mail on file (users.lookupByEmail)."""
    client = web_client(common.settings())
    with common.unit() as session:
        identity = links.map_by_email(session, person, client, viewer=LOCAL)
        handle = identity.person.handle
    render.say(f"linked {handle} to Slack user {identity.slack_user_id}")


@slack_app.command("unlink")
@common.handle_errors
def unlink(person: str = typer.Argument(..., help="Id, handle or e-mail of the person.")) -> None:
    """Forget a person's Slack link: nothing more is sent to them there, they can no longer act."""
    with common.unit() as session:
        done = links.unlink(session, person, viewer=LOCAL)
    render.say("unlinked" if done else "was not linked")


@slack_app.command("links")
@common.handle_errors
def list_links() -> None:
    """Who is linked to which Slack user."""
    with common.unit() as session:
        rows = [
            (i.person.handle, i.slack_user_id, i.linked_by) for i in links.list_links(session, viewer=LOCAL)
        ]
    for handle, user, how in rows:
        render.say(f"{handle}\t{user}\t{how}")
    if not rows:
        render.hint("nobody is linked yet")


@slack_app.command("channel")
@common.handle_errors
def channel(
    team: str = typer.Argument(..., help="Team id or name."),
    channel_id: str = typer.Argument("", help="Slack channel id, e.g. C0123ABCD."),
    clear: bool = typer.Option(False, "--clear", help="Stop posting for this team."),
) -> None:
    """Post a team's weekly digest and its published lessons to a Slack channel."""
    with common.unit() as session:
        if clear:
            done = team_channels.clear_team_channel(session, team, viewer=LOCAL)
            message = "cleared" if done else "the team had no channel"
        else:
            row = team_channels.set_team_channel(session, team, channel_id, viewer=LOCAL)
            message = f"team {row.team.name} posts to {row.channel_id}"
    render.say(message)


@slack_app.command("manifest")
def manifest() -> None:
    """Print the Slack app manifest (paste it at api.slack.com/apps → Create New App)."""
    text = (
        resources.files("lessonloop.integrations.slack").joinpath("manifest.yml").read_text(encoding="utf-8")
    )
    typer.echo(text, nl=False)
