"""`lessonloop person ...` and `lessonloop team ...`: who is involved and who owns actions."""

from __future__ import annotations

import typer
from pydantic import BaseModel
from rich.console import Group, RenderableType

from lessonloop.cli import common, render
from lessonloop.cli.app import app
from lessonloop.cli.common import LOCAL
from lessonloop.fields import parse_command
from lessonloop.people import service
from lessonloop.people.models import Team
from lessonloop.people.schemas import AddPerson, AddTeam, PersonOut, SetMembership, TeamOut

person_app = typer.Typer(help="People: reporters, owners of actions, reviewers.", no_args_is_help=True)
team_app = typer.Typer(help="Teams and their members.", no_args_is_help=True)
app.add_typer(person_app, name="person")
app.add_typer(team_app, name="team")


class MemberOut(BaseModel):
    person: PersonOut
    role: str


class TeamDetailOut(TeamOut):
    """A team with its members spelled out (``team show --json``)."""

    members: list[MemberOut] = []


def _team_detail(team: Team) -> TeamDetailOut:
    base = TeamOut.model_validate(team)
    members = sorted(team.memberships, key=lambda m: m.person.handle)
    return TeamDetailOut(
        **base.model_dump(),
        members=[MemberOut(person=PersonOut.model_validate(m.person), role=m.role) for m in members],
    )


@person_app.command("add")
@common.handle_errors
def person_add(
    name: str = typer.Argument(..., help="Full name, e.g. 'Ana Lopez'."),
    handle: str | None = typer.Option(None, "--handle", help="Short unique handle (default: from the name)."),
    email: str | None = typer.Option(None, "--email", help="E-mail address (unique)."),
) -> None:
    """Add a person. Refer to them later by id, handle or e-mail."""
    command = parse_command(AddPerson, {"name": name, "handle": handle, "email": email})
    with common.unit() as session:
        person = service.add_person(session, **command.model_dump(), viewer=LOCAL)
    render.say(f"added person {person.handle} (id {person.id})")


@person_app.command("list")
@common.handle_errors
def person_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List everyone."""
    with common.unit() as session:
        people = [PersonOut.model_validate(p) for p in service.list_people(session, viewer=LOCAL)]
    if as_json:
        common.print_json(people)
        return
    render.out(render.people_table(people))
    render.hint(
        render.plural(len(people), "person", "people")
        if people
        else "no people yet: lessonloop person add 'Ana Lopez'"
    )


@team_app.command("add")
@common.handle_errors
def team_add(
    name: str = typer.Argument(..., help="Team name (unique)."),
    description: str = typer.Option("", "--description", help="What the team does."),
) -> None:
    """Add a team."""
    command = parse_command(AddTeam, {"name": name, "description": description})
    with common.unit() as session:
        team = service.add_team(session, **command.model_dump(), viewer=LOCAL)
    render.say(f"added team {team.name} (id {team.id})")


@team_app.command("list")
@common.handle_errors
def team_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List teams with their member counts."""
    with common.unit() as session:
        teams = [TeamOut.model_validate(t) for t in service.list_teams(session, viewer=LOCAL)]
    if as_json:
        common.print_json(teams)
        return
    grid = render.table("id", "name", "members", "description")
    for t in teams:
        render.row(grid, t.id, t.name, len(t.memberships), t.description)
    render.out(grid)
    render.hint(render.plural(len(teams), "team") if teams else "no teams yet: lessonloop team add Payments")


@team_app.command("show")
@common.handle_errors
def team_show(
    team: str = typer.Argument(..., help="Team id or name."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show a team and its members."""
    with common.unit() as session:
        detail = _team_detail(service.get_team(session, team, viewer=LOCAL))
    if as_json:
        common.print_json(detail)
        return
    grid = render.table("id", "handle", "name", "role")
    for m in detail.members:
        render.row(grid, m.person.id, m.person.handle, m.person.name, m.role)
    parts: list[RenderableType] = []
    if detail.description:
        parts.append(render.text(detail.description))
    if detail.members:
        parts.append(grid)
    else:
        parts.append(render.text(f"no members yet: lessonloop team member {detail.id} PERSON", "dim"))
    title = f"Team {detail.id}: {detail.name} ({render.plural(len(detail.members), 'member')})"
    render.out(render.panel(Group(*parts), title))


@team_app.command("member")
@common.handle_errors
def team_member(
    team: str = typer.Argument(..., help="Team id or name."),
    person: str = typer.Argument(..., help="Person id, handle or e-mail."),
    role: str = typer.Option("member", "--role", help="member, lead or admin."),
) -> None:
    """Add a person to a team, or change their role in it."""
    command = parse_command(SetMembership, {"person": person, "role": role.strip().lower()})
    with common.unit() as session:
        membership = service.add_member(session, team=team, **command.model_dump(), viewer=LOCAL)
        line = f"{membership.person.handle} is {membership.role} of {membership.team.name}"
    render.say(line)
