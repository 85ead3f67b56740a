"""`lessonloop tracker connect|show|map|disconnect|push|status`: issue-tracker sync from a terminal.

Like every local command it acts as ``SystemActor("cli")`` on the database file; secrets are
printed masked, as in the API and the pages.
"""

from __future__ import annotations

import typer

from lessonloop.cli import common, render
from lessonloop.cli.app import app
from lessonloop.cli.common import LOCAL
from lessonloop.integrations.trackers import service
from lessonloop.integrations.trackers.models import ActionTrackerLink
from lessonloop.integrations.trackers.schemas import ConnectionOut, LinkOut

tracker_app = typer.Typer(
    help="Issue-tracker sync: connect a team to GitHub Issues or Jira, push actions.", no_args_is_help=True
)
app.add_typer(tracker_app, name="tracker")

JSON = typer.Option(False, "--json", help="Print JSON.")


def _show(view: service.ConnectionView, as_json: bool) -> None:
    out = ConnectionOut.model_validate(view, from_attributes=True)
    if as_json:
        common.print_json(out)
        return
    render.out(
        render.fields(
            [
                ("team", out.team),
                ("tracker", out.kind),
                ("repository" if out.kind == "github" else "project", out.target),
                ("server", out.server_url or "(api.github.com)"),
                ("user", out.user),
                ("token", out.token),
                ("webhook secret", out.webhook_secret),
                ("webhook", out.webhook_path),
                ("people", ", ".join(f"{h} → {login}" for h, login in sorted(out.assignees.items()))),
            ]
        )
    )


def _link(link: ActionTrackerLink, as_json: bool) -> None:
    out = LinkOut.model_validate(link)
    if as_json:
        common.print_json(out)
        return
    issue = f" {out.issue_url} ({out.issue_state or 'open'})" if out.issue_url else ""
    waiting = " — issue closed: add evidence to complete" if out.awaiting_evidence else ""
    render.say(f"action {out.action_id}: {out.state}{issue}{waiting}")


@tracker_app.command("connect")
@common.handle_errors
def connect(
    team: str = typer.Argument(..., help="Team id or name."),
    kind: str = typer.Option(..., "--kind", help="github or jira."),
    repo: str = typer.Option("", "--repo", help='GitHub: "owner/name".'),
    project: str = typer.Option("", "--project", help="Jira: the project key."),
    server_url: str = typer.Option("", "--server-url", help="Jira server URL; GitHub Enterprise API URL."),
    user: str = typer.Option("", "--user", help="Jira: the e-mail the token belongs to."),
    token: str = typer.Option("", "--token", envvar="LESSONLOOP_TRACKER_TOKEN", help="API token."),
    webhook_secret: str = typer.Option(
        "", "--webhook-secret", envvar="LESSONLOOP_TRACKER_WEBHOOK_SECRET", help="16+ characters."
    ),
    issue_type: str = typer.Option("", "--issue-type", help="Jira: issue type of new issues (Task)."),
    as_json: bool = JSON,
) -> None:
    """Connect a team to a GitHub repository or a Jira project (again: change it)."""
    with common.unit() as session:
        view = service.connect_tracker(
            session,
            team=team,
            kind=kind,
            target=repo or project,
            token=token,
            webhook_secret=webhook_secret,
            server_url=server_url,
            user=user,
            issue_type=issue_type,
            viewer=LOCAL,
        )
    _show(view, as_json)


@tracker_app.command("show")
@common.handle_errors
def show(team: str = typer.Argument(..., help="Team id or name."), as_json: bool = JSON) -> None:
    """The team's tracker connection (secrets masked)."""
    with common.unit() as session:
        view = service.get_connection(session, team=team, viewer=LOCAL)
    _show(view, as_json)


@tracker_app.command("map")
@common.handle_errors
def map_person(
    team: str = typer.Argument(..., help="Team id or name."),
    person: str = typer.Argument(..., help="Id, handle or e-mail."),
    login: str = typer.Argument("", help="GitHub login / Jira account id (omit to remove)."),
) -> None:
    """Say who a person is in the team's tracker (their actions' issues are assigned to them)."""
    with common.unit() as session:
        service.map_assignee(session, team=team, person=person, login=login, viewer=LOCAL)
    render.say(f"{person} → {login}" if login else f"{person}: mapping removed")


@tracker_app.command("disconnect")
@common.handle_errors
def disconnect(team: str = typer.Argument(..., help="Team id or name.")) -> None:
    """Remove the team's connection (issues already linked keep their link)."""
    with common.unit() as session:
        service.disconnect_tracker(session, team=team, viewer=LOCAL)
    render.say(f"team {team}: tracker disconnected")


@tracker_app.command("push")
@common.handle_errors
def push(action_id: int = typer.Argument(..., help="Action id."), as_json: bool = JSON) -> None:
    """Queue an action for its team's tracker; the worker creates the issue (once)."""
    with common.unit() as session:
        link = service.push_action(session, action_id, viewer=LOCAL)
    _link(link, as_json)


@tracker_app.command("status")
@common.handle_errors
def status(action_id: int = typer.Argument(..., help="Action id."), as_json: bool = JSON) -> None:
    """Where the action's push is, and its issue once created."""
    with common.unit() as session:
        link = service.get_link(session, action_id, viewer=LOCAL)
    if link is None:
        raise common.fail(f"action {action_id} was never pushed")
    _link(link, as_json)
