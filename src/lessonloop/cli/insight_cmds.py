"""`lessonloop metrics` and `lessonloop escalations ...`: re-evaluate."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from lessonloop.cli import common
from lessonloop.cli.app import app
from lessonloop.cli.common import LOCAL
from lessonloop.coerce import as_date
from lessonloop.escalations.models import ROUTE_LABELS, SupportRoute
from lessonloop.escalations.schemas import EscalationOut, UpdateEscalation
from lessonloop.escalations.service import (
    EscalationPolicy,
    check_escalations,
    list_escalations,
    update_escalation,
)
from lessonloop.fields import parse_command
from lessonloop.people.service import get_team
from lessonloop.signals.metrics import compute_metrics, metrics_csv

esc_app = typer.Typer(
    help="Persistent patterns of repeats that need support beyond the team.", no_args_is_help=True
)
app.add_typer(esc_app, name="escalations")


def _day(value: str | None, field: str) -> dt.datetime | None:
    if not value:
        return None
    day = as_date(value, field)
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _num(value: float | None, unit: str = "") -> str:
    return "–" if value is None else f"{value:g}{unit}"


@app.command("metrics")
@common.handle_errors
def metrics(
    team: str = typer.Option(None, "--team", help="Team id or name."),
    since: str = typer.Option(None, "--since", help="Failures detected on or after (YYYY-MM-DD)."),
    until: str = typer.Option(None, "--until", help="Failures detected before (YYYY-MM-DD)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    csv_file: str = typer.Option(None, "--csv", help="Write CSV to FILE ('-' for stdout)."),
) -> None:
    """Is learning turning into changed practice? Repeat rate, drift, specificity, conversion."""
    with common.unit() as session:
        team_id = get_team(session, team, viewer=LOCAL).id if team else None
        result = compute_metrics(
            session, team_id=team_id, since=_day(since, "since"), until=_day(until, "until"), viewer=LOCAL
        )
    if csv_file:
        text = metrics_csv(result)
        if csv_file == "-":
            sys.stdout.write(text)
        else:
            Path(csv_file).write_text(text, encoding="utf-8")
            common.console.print(f"wrote {csv_file}")
        return
    if as_json:
        common.print_json(result)
        return
    table = Table(title="Learning metrics", show_lines=False)
    for col in (
        "team",
        "month",
        "failures",
        "repeat rate",
        "lesson not impl.",
        "h to review",
        "overdue",
        "days late",
        "specificity",
        "conversion",
        "blame",
    ):
        table.add_column(col, overflow="fold")
    for row in [*result["months"], result["totals"]]:
        table.add_row(
            row["team"],
            row["month"],
            str(row["failures"]),
            _pct(row["repeat_rate"]),
            str(row["lessons_not_implemented"]),
            _num(row["median_hours_to_review"]),
            _pct(row["overdue_share"]),
            _num(row["median_days_overdue"]),
            _num(row["mean_specificity"]),
            _pct(row["learning_conversion"]),
            _pct(row["blame_rate"]),
        )
    common.console.print(table)
    if result["top_failed_assumptions"]:
        common.console.print("Assumptions that failed most often:")
        for item in result["top_failed_assumptions"]:
            common.console.print(f"  {item['failures']}×  {item['statement']}", markup=False)


def _print_escalations(items: list[Any], as_json: bool, empty: str) -> None:
    if as_json:
        common.print_json([EscalationOut.model_validate(e) for e in items])
        return
    if not items:
        common.console.print(empty)
        return
    for e in items:
        owner = e.owner.handle if e.owner else "no owner"
        common.console.print(
            f"#{e.id} [{e.status}] {e.subject} — {e.count} failures, owner {owner}",
            markup=False,
            highlight=False,
        )
        common.console.print(f"    support: {ROUTE_LABELS[SupportRoute(e.support_route)]}", markup=False)
        common.console.print(f"    {e.explanation}", markup=False, highlight=False)


@esc_app.command("check")
@common.handle_errors
def check(
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Open or grow escalations for patterns repeating within the window (default 3 in 90 days)."""
    with common.unit() as session:
        changed = check_escalations(
            session, policy=EscalationPolicy.from_settings(common.settings()), viewer=LOCAL
        )
    _print_escalations(changed, as_json, "no new escalations")


@esc_app.command("list")
@common.handle_errors
def list_(
    status: str = typer.Option(None, "--status", help="open, acknowledged or resolved."),
    team: str = typer.Option(None, "--team"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Escalations, the newest first."""
    with common.unit() as session:
        team_id = get_team(session, team, viewer=LOCAL).id if team else None
        items = list_escalations(session, status=status, team_id=team_id, viewer=LOCAL)
    _print_escalations(items, as_json, "no escalations")


@esc_app.command("update")
@common.handle_errors
def update(
    escalation_id: str = typer.Argument(..., help="Escalation id."),
    status: str = typer.Option(None, "--status", help="acknowledged or resolved."),
    owner: str = typer.Option(None, "--owner", help="Person id, handle or e-mail."),
    resolution: str = typer.Option(None, "--resolution", help="What was done (required to resolve)."),
    route: str = typer.Option(
        None, "--route", help="hr-business-partner or employee-assistance (needs --reason)."
    ),
    reason: str = typer.Option(None, "--reason", help="Why HR or employee assistance."),
    person: str = typer.Option(None, "--person", help="The person it concerns (for --route)."),
) -> None:
    """Acknowledge, assign or resolve an escalation, or choose HR / employee assistance for it."""
    command = parse_command(
        UpdateEscalation,
        {
            "status": status,
            "owner": owner,
            "resolution": resolution,
            "support_route": route,
            "reason": reason,
            "person": person,
        },
    )
    with common.unit() as session:
        e = update_escalation(session, escalation_id, **command.model_dump(mode="json"), viewer=LOCAL)
        status_now = e.status
    common.console.print(f"escalation {escalation_id} is {status_now}")
