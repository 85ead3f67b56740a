"""`lessonloop event-webhook ...`: add, list, disable or enable endpoints, and their deliveries.

An operator's commands on the local database (the CLI acts as a named system job, like every
other command); org admins and team leads use the API or the admin page instead.
"""

from __future__ import annotations

import typer

from lessonloop.cli import common, render
from lessonloop.cli.app import app
from lessonloop.cli.common import LOCAL
from lessonloop.fields import parse_command
from lessonloop.integrations.webhooks import service
from lessonloop.integrations.webhooks.events import EVENTS
from lessonloop.integrations.webhooks.schemas import AddEventWebhook, EventDeliveryOut, EventWebhookOut

hooks_app = typer.Typer(help="Outgoing event webhooks: signed events for other tools.", no_args_is_help=True)
app.add_typer(hooks_app, name="event-webhook")
JSON = typer.Option(False, "--json", help="Print JSON.")


def _line(e: EventWebhookOut) -> str:
    scope = f"team {e.team_id}" if e.team_id is not None else "org"
    state = "active" if e.active else "disabled"
    return f"{e.id}\t{scope}\t{state}\t{','.join(e.events)}\t{e.url}"


@hooks_app.command("add")
@common.handle_errors
def add(
    url: str = typer.Argument(..., help="Where to POST the events (https://…)."),
    event: list[str] = typer.Option(
        list(EVENTS), "--event", "-e", help=f"Repeatable; default all: {', '.join(EVENTS)}."
    ),
    team: str | None = typer.Option(None, "--team", help="Team id or name; default: the organisation."),
    description: str = typer.Option("", "--description"),
    as_json: bool = JSON,
) -> None:
    """Register an endpoint and print its signing secret (shown this once)."""
    command = parse_command(
        AddEventWebhook, {"url": url, "events": event, "team": team, "description": description}
    )
    with common.unit() as session:
        made = service.add_endpoint(session, **command.model_dump(), viewer=LOCAL)
        out = EventWebhookOut.of(made.endpoint)
    if as_json:
        common.print_json({"endpoint": out.model_dump(), "secret": made.secret})
        return
    render.say(f"added event webhook {out.id}: {out.url}")
    render.say(f"signing secret (shown once): {made.secret}")


@hooks_app.command("list")
@common.handle_errors
def list_endpoints(as_json: bool = JSON) -> None:
    """Every endpoint: id, scope, state, events, URL."""
    with common.unit() as session:
        rows = [EventWebhookOut.of(e) for e in service.list_endpoints(session, viewer=LOCAL)]
    if as_json:
        common.print_json([r.model_dump() for r in rows])
        return
    for row in rows:
        render.say(_line(row))
    if not rows:
        render.hint("no event webhooks yet: lessonloop event-webhook add URL")


def _set(endpoint_id: int, active: bool) -> None:
    with common.unit() as session:
        out = EventWebhookOut.of(service.set_active(session, endpoint_id, active, viewer=LOCAL))
    render.say(_line(out))


@hooks_app.command("disable")
@common.handle_errors
def disable(endpoint_id: int = typer.Argument(..., help="The endpoint's id.")) -> None:
    """Stop sending to it (queued deliveries end dead, "not sent")."""
    _set(endpoint_id, False)


@hooks_app.command("enable")
@common.handle_errors
def enable(endpoint_id: int = typer.Argument(..., help="The endpoint's id.")) -> None:
    _set(endpoint_id, True)


@hooks_app.command("deliveries")
@common.handle_errors
def deliveries(
    endpoint_id: int = typer.Argument(..., help="The endpoint's id."),
    limit: int = typer.Option(20, "--limit"),
    as_json: bool = JSON,
) -> None:
    """Its recent deliveries, newest first."""
    with common.unit() as session:
        rows = [
            EventDeliveryOut.of(d)
            for d in service.recent_deliveries(session, endpoint_id, limit=limit, viewer=LOCAL)
        ]
    if as_json:
        common.print_json([r.model_dump() for r in rows])
        return
    for r in rows:
        render.say(f"{r.id}\t{r.event}\t{r.status}\t{r.attempts}\t{r.last_error or '-'}")
    if not rows:
        render.hint("nothing sent yet")
