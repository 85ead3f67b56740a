"""The worker, notifications, calendars and "did this work?" from the command line.

lessonloop worker --once                          # one pass: jobs, then deliveries
lessonloop worker --interval 60                   # keep going until SIGTERM / Ctrl-C
lessonloop worker jobs                            # what is registered
lessonloop notifications list --user ana
lessonloop notifications prefs ana --channel email --email ana@example.com
lessonloop notifications dead                     # deliveries that gave up
lessonloop notifications retry 12
lessonloop action check 7 --worked partly --note "fewer slips, not none"
lessonloop calendar token --person ana            # prints the secret feed URL once
lessonloop calendar revoke 3
lessonloop reflection list
lessonloop reflection schedule 12 --on +7d --facilitator ana
lessonloop reflection reschedule 3 --on 2026-06-02
lessonloop reflection held 3 --notes "We agreed to date every dependency"
lessonloop reflection notes 3 "Follow-up: check in a month"
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
import threading
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from lessonloop.calendars import service as calendars
from lessonloop.calendars.schemas import CreateCalendarFeed
from lessonloop.cli import common, render
from lessonloop.cli.app import app
from lessonloop.cli.common import LOCAL
from lessonloop.cli.loop_cmds import action_app
from lessonloop.coerce import as_datetime
from lessonloop.fields import parse_command
from lessonloop.notifications import service as outbox
from lessonloop.notifications.config import WorkerConfig
from lessonloop.notifications.models import Delivery
from lessonloop.notifications.schemas import SetPreferences
from lessonloop.people.service import get_person
from lessonloop.reflections import service as reflections
from lessonloop.reflections.schemas import (
    HoldReflection,
    ReflectionNotes,
    RescheduleReflection,
    ScheduleReflection,
)
from lessonloop.worker import checks
from lessonloop.worker.runner import PassReport, run_forever, run_once, stop_on_signals
from lessonloop.worker.scheduler import load_jobs
from lessonloop.worker.schemas import AnswerCheck

JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")


def _now(value: str | None) -> dt.datetime | None:
    return as_datetime(value, "now") if value else None


# --- worker -----------------------------------------------------------------------------------

worker_app = typer.Typer(help="Run scheduled jobs and deliver notifications.", invoke_without_command=True)
app.add_typer(worker_app, name="worker")


def _print_report(report: PassReport) -> None:
    for line in report.lines():
        render.say(line)


@worker_app.callback(invoke_without_command=True)
@common.handle_errors
def worker(
    ctx: typer.Context,
    once: bool = typer.Option(False, "--once", help="Run one pass and exit."),
    interval: float | None = typer.Option(
        None, "--interval", help="Seconds between passes (default LESSONLOOP_WORKER_INTERVAL or 60)."
    ),
    now: str | None = typer.Option(None, "--now", help="Pretend it is this time (with --once; for trials)."),
    only: list[str] | None = typer.Option(None, "--job", help="Run only this job (repeatable)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing for a pass."),
) -> None:
    """Run the worker: reminders, review prompts, experiment ends, escalations, reflection
    sessions, then deliver due notifications (e-mail, webhook) with retries."""
    if ctx.invoked_subcommand is not None:
        return
    config = WorkerConfig.from_env()
    db = common.database()
    if once:
        stop = threading.Event()
        stop_on_signals(stop)  # SIGTERM: in-flight sends finish, unsent claims go back, exit 0
        report = run_once(db, now=_now(now), config=config, only_jobs=set(only) if only else None, stop=stop)
        if not quiet:
            _print_report(report)
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    render.say(f"worker running every {interval or config.interval_seconds:g}s; Ctrl-C to stop")
    run_forever(
        db,
        config=config,
        interval=interval,
        only_jobs=set(only) if only else None,
        on_pass=None if quiet else _print_report,
    )


@worker_app.command("jobs")
def worker_jobs() -> None:
    """List the registered jobs."""
    table = Table("job", "every", "what")
    for name, job in sorted(load_jobs(WorkerConfig.from_env().job_modules).items()):
        table.add_row(Text(name), job.every, Text(job.description.strip()))
    render.out(table)


# --- notifications ----------------------------------------------------------------------------

notifications_app = typer.Typer(help="In-app notifications, channels and dead letters.", no_args_is_help=True)
app.add_typer(notifications_app, name="notifications")


def _delivery_json(d: Delivery) -> dict[str, object]:
    return {
        "id": d.id,
        "notification_id": d.notification_id,
        "dedupe_key": d.notification.dedupe_key,
        "person_id": d.notification.person_id,
        "channel": d.channel,
        "target": d.target,
        "status": d.status,
        "attempts": d.attempts,
        "next_attempt_at": d.next_attempt_at.isoformat(),
        "last_error": d.last_error,
        "sent_at": d.sent_at.isoformat() if d.sent_at else None,
    }


@notifications_app.command("list")
@common.handle_errors
def notifications_list(
    user: str = typer.Option(..., "--user", "-u", help="Person id, handle or e-mail."),
    unread: bool = typer.Option(False, "--unread", help="Only unread ones."),
    limit: int = typer.Option(50, "--limit"),
    as_json: bool = JSON,
) -> None:
    """A person's notifications, newest first, each as of now (``obsolete``: why it is no longer
    needed)."""
    with common.unit() as session:
        rows: list[dict[str, Any]] = [
            {
                "id": shown.notification.id,
                "kind": shown.notification.kind,
                "subject": shown.subject,
                "body": shown.body_text,
                "created_at": shown.notification.created_at.isoformat(),
                "read": shown.notification.read_at is not None,
                "obsolete": shown.obsolete,
                "deliveries": {d.channel: d.status for d in shown.notification.deliveries},
            }
            for shown in outbox.current_for_person(session, user, unread=unread, limit=limit, viewer=LOCAL)
        ]
    if as_json:
        common.print_json(rows)
        return
    if not rows:
        render.say("no notifications")
        return
    table = Table("id", "when", "kind", "subject", "read", "deliveries")
    for r in rows:
        deliveries = ", ".join(f"{c}: {s}" for c, s in r["deliveries"].items())
        table.add_row(
            str(r["id"]),
            str(r["created_at"])[:16],
            str(r["kind"]),
            Text(str(r["subject"])),
            "yes" if r["read"] else "no",
            deliveries,
        )
    render.out(table)


@notifications_app.command("read")
@common.handle_errors
def notifications_read(notification_id: str = typer.Argument(..., help="Notification id.")) -> None:
    """Mark a notification read."""
    with common.unit() as session:
        n = outbox.mark_read(session, notification_id, viewer=LOCAL)
    render.say(f"notification {n.id} is read")


@notifications_app.command("prefs")
@common.handle_errors
def notifications_prefs(
    person: str = typer.Argument(..., help="Person id, handle or e-mail."),
    channel: list[str] | None = typer.Option(
        None, "--channel", "-c", help="email or webhook (repeatable; in-app is always on). Replaces the set."
    ),
    only_in_app: bool = typer.Option(False, "--in-app-only", help="Turn e-mail and webhook off."),
    email: str | None = typer.Option(None, "--email", help="Address for e-mail (default: the person's)."),
    webhook_url: str | None = typer.Option(None, "--webhook-url", help="The chat tool's webhook URL."),
    webhook_kind: str | None = typer.Option(
        None, "--webhook-kind", help="slack (Slack-compatible; default), teams, discord, mattermost, json."
    ),
    as_json: bool = JSON,
) -> None:
    """Show or set a person's channels."""
    chosen = [] if only_in_app else channel
    with common.unit() as session:
        if chosen is None and email is None and webhook_url is None and webhook_kind is None:
            owner = get_person(session, person, viewer=LOCAL)
            pref = outbox.get_preferences(session, owner.id, viewer=LOCAL)
        else:
            command = parse_command(
                SetPreferences,
                {
                    "channels": chosen,
                    "email": email,
                    "webhook_url": webhook_url,
                    "webhook_kind": webhook_kind,
                },
            )
            pref = outbox.set_preferences(session, person, **command.model_dump(), viewer=LOCAL)
        out = {
            "channels": sorted(pref.channel_set) if pref else ["in-app"],
            "email": pref.email if pref else None,
            "webhook_url": pref.webhook_url if pref else None,
            "webhook_kind": pref.webhook_kind if pref else "slack",
        }
    if as_json:
        common.print_json(out)
        return
    render.say(
        f"channels: {', '.join(out['channels'])}; e-mail: {out['email'] or '(person)'}; "  # type: ignore[arg-type]
        f"webhook: {out['webhook_url'] or '-'}" + (f" ({out['webhook_kind']})" if out["webhook_url"] else "")
    )


def _deliveries_table(rows: list[Delivery]) -> Table:
    table = Table("id", "key", "channel", "target", "status", "attempts", "last error")
    for d in rows:
        table.add_row(
            str(d.id),
            Text(d.notification.dedupe_key),
            d.channel,
            Text(d.target),
            d.status,
            str(d.attempts),
            Text(d.last_error[:80]),
        )
    return table


@notifications_app.command("dead")
@common.handle_errors
def notifications_dead(limit: int = typer.Option(100, "--limit"), as_json: bool = JSON) -> None:
    """Deliveries that failed every attempt (nothing is dropped silently)."""
    with common.unit() as session:
        rows = outbox.dead_letters(session, limit=limit, viewer=LOCAL)
        data = [_delivery_json(d) for d in rows]
        table = _deliveries_table(rows)
    if as_json:
        common.print_json(data)
    elif not data:
        render.say("no dead deliveries")
    else:
        render.out(table)


@notifications_app.command("deliveries")
@common.handle_errors
def notifications_deliveries(
    status: str | None = typer.Option(None, "--status", help="pending, sending, sent or dead."),
    limit: int = typer.Option(100, "--limit"),
    as_json: bool = JSON,
) -> None:
    """External deliveries (e-mail, webhook) and where they stand."""
    with common.unit() as session:
        rows = outbox.list_deliveries(session, status=status, limit=limit, viewer=LOCAL)
        data = [_delivery_json(d) for d in rows]
        table = _deliveries_table(rows)
    if as_json:
        common.print_json(data)
    elif not data:
        render.say("no deliveries")
    else:
        render.out(table)


@notifications_app.command("retry")
@common.handle_errors
def notifications_retry(delivery_id: str = typer.Argument(..., help="Dead delivery id.")) -> None:
    """Give a dead delivery a fresh set of attempts."""
    with common.unit() as session:
        d = outbox.retry_dead(session, delivery_id, viewer=LOCAL)
    render.say(f"delivery {d.id} will be retried on the next pass")


# --- action check -----------------------------------------------------------------------------


@action_app.command("check")
@common.handle_errors
def action_check(
    action_id: str = typer.Argument(..., help="Action id."),
    worked: str = typer.Option(..., "--worked", help="yes, no or partly."),
    note: str = typer.Option("", "--note", "-n", help="What you saw."),
    person: str | None = typer.Option(None, "--person", help="Who answers (default: the owner)."),
) -> None:
    """Answer "did this work?" for an action; the worker asks its owner on the review date."""
    command = parse_command(AnswerCheck, {"worked": worked, "note": note})
    with common.unit() as session:
        check = checks.record_check(
            session, action_id, **command.model_dump(mode="json"), person=person, viewer=LOCAL
        )
        aid, answer = check.action_id, check.worked
    render.say(f"action {aid}: worked = {answer}")


# --- calendar ---------------------------------------------------------------------------------

calendar_app = typer.Typer(help="Secret iCalendar feed URLs for a person or a team.", no_args_is_help=True)
app.add_typer(calendar_app, name="calendar")


@calendar_app.command("token")
@common.handle_errors
def calendar_token(
    person: str | None = typer.Option(None, "--person", "-p", help="Person id, handle or e-mail."),
    team: str | None = typer.Option(None, "--team", "-t", help="Team id or name."),
) -> None:
    """Make a feed URL. The token is shown once; only its hash is kept."""
    command = parse_command(CreateCalendarFeed, {"team": team})
    with common.unit() as session:
        row, plaintext = calendars.create_token(session, person=person, **command.model_dump(), viewer=LOCAL)
        rid = row.id
    base = WorkerConfig.from_env().calendar_base_url
    render.say(f"calendar token {rid}: {base}{calendars.feed_path(plaintext)}")
    render.hint("keep it secret; revoke with: lessonloop calendar revoke " + str(rid))


@calendar_app.command("revoke")
@common.handle_errors
def calendar_revoke(
    ref: str = typer.Argument(..., help="Token id, the token, its URL or its prefix."),
) -> None:
    """Revoke a feed URL (it answers 404 from now on)."""
    with common.unit() as session:
        row = calendars.revoke_token(session, ref, viewer=LOCAL)
        rid = row.id
    render.say(f"calendar token {rid} is revoked")


@calendar_app.command("list")
@common.handle_errors
def calendar_list(as_json: bool = JSON) -> None:
    """Feed tokens (prefixes only)."""
    with common.unit() as session:
        rows = [
            {
                "id": t.id,
                "prefix": t.prefix,
                "person_id": t.person_id,
                "team_id": t.team_id,
                "revoked": t.revoked_at is not None,
            }
            for t in calendars.list_tokens(session, viewer=LOCAL)
        ]
    if as_json:
        common.print_json(rows)
        return
    table = Table("id", "prefix", "person", "team", "revoked")
    for r in rows:
        table.add_row(
            str(r["id"]),
            f"{r['prefix']}…",
            str(r["person_id"] or ""),
            str(r["team_id"] or ""),
            str(r["revoked"]),
        )
    render.out(table)


@calendar_app.command("show")
@common.handle_errors
def calendar_show(token: str = typer.Argument(..., help="The secret token.")) -> None:
    """Print the feed (text/calendar) behind a token."""
    with common.unit() as session:
        text = calendars.feed(session, token)
    typer.echo(text, nl=False)


# --- reflection sessions ----------------------------------------------------------------------

reflection_app = typer.Typer(help="Proposed reflection sessions after severe failures.", no_args_is_help=True)
app.add_typer(reflection_app, name="reflection")


def _reflection_row(listed: reflections.Listed) -> dict[str, object]:
    r = listed.reflection
    return {
        "id": r.id,
        "failure_id": r.failure_id,
        "team_id": r.team_id,
        "facilitator_id": r.facilitator_id,
        "facilitator": listed.facilitator.handle if listed.facilitator else None,
        "title": r.title,
        "scheduled_for": r.scheduled_for.isoformat(),
        "status": r.status,
        "held_at": r.held_at.isoformat() if r.held_at else None,
        "notes": r.notes,
    }


@reflection_app.command("list")
@common.handle_errors
def reflection_list(
    status: str | None = typer.Option(None, "--status", help="proposed, held or cancelled."),
    as_json: bool = JSON,
) -> None:
    """Reflection sessions, the soonest first."""
    with common.unit() as session:
        rows = [
            _reflection_row(r) for r in reflections.list_reflections(session, status=status, viewer=LOCAL)
        ]
    if as_json:
        common.print_json(rows)
        return
    if not rows:
        render.say("no reflection sessions")
        return
    table = Table("id", "date", "failure", "status", "facilitator", "title")
    for r in rows:
        table.add_row(
            str(r["id"]),
            str(r["scheduled_for"]),
            str(r["failure_id"]),
            str(r["status"]),
            str(r["facilitator"] or "-"),
            Text(str(r["title"])),
        )
    render.out(table)


def _say_reflection(session_row: dict[str, object], what: str) -> None:
    render.say(f"reflection session {session_row['id']} (failure {session_row['failure_id']}): {what}")


@reflection_app.command("schedule")
@common.handle_errors
def reflection_schedule(
    failure_id: str = typer.Argument(..., help="Failure id."),
    on: str = typer.Option(..., "--on", help="YYYY-MM-DD, today, tomorrow, +7d, +2w."),
    facilitator: str | None = typer.Option(None, "--facilitator", "-f", help="Person id, handle or e-mail."),
) -> None:
    """Plan the reflection session on a failure that has none."""
    command = parse_command(ScheduleReflection, {"scheduled_for": on, "facilitator": facilitator})
    with common.unit() as session:
        row = reflections.schedule(session, failure_id, command, viewer=LOCAL)
        out = _reflection_row(reflections.get_reflection(session, row.id, viewer=LOCAL))
    _say_reflection(out, f"planned for {out['scheduled_for']}")


@reflection_app.command("reschedule")
@common.handle_errors
def reflection_reschedule(
    reflection_id: str = typer.Argument(..., help="Reflection session id."),
    on: str = typer.Option(..., "--on", help="The new date."),
    facilitator: str | None = typer.Option(None, "--facilitator", "-f", help="A new facilitator."),
) -> None:
    """Move a session that has not been held."""
    command = parse_command(RescheduleReflection, {"scheduled_for": on, "facilitator": facilitator})
    with common.unit() as session:
        reflections.reschedule(session, reflection_id, command, viewer=LOCAL)
        out = _reflection_row(reflections.get_reflection(session, reflection_id, viewer=LOCAL))
    _say_reflection(out, f"moved to {out['scheduled_for']}")


@reflection_app.command("held")
@common.handle_errors
def reflection_held(
    reflection_id: str = typer.Argument(..., help="Reflection session id."),
    notes: str | None = typer.Option(None, "--notes", "-n", help="What was said (replaces the notes)."),
) -> None:
    """Record that a session was held; the reminder to hold it is not sent after this."""
    command = parse_command(HoldReflection, {"notes": notes})
    with common.unit() as session:
        reflections.mark_held(session, reflection_id, command, viewer=LOCAL)
        out = _reflection_row(reflections.get_reflection(session, reflection_id, viewer=LOCAL))
    _say_reflection(out, "held")


@reflection_app.command("notes")
@common.handle_errors
def reflection_notes(
    reflection_id: str = typer.Argument(..., help="Reflection session id."),
    text: str = typer.Argument(..., help="The notes (replace the old ones); - reads standard input."),
) -> None:
    """Write a session's notes."""
    if text == "-":
        text = sys.stdin.read()
    command = parse_command(ReflectionNotes, {"notes": text})
    with common.unit() as session:
        reflections.set_notes(session, reflection_id, command, viewer=LOCAL)
        out = _reflection_row(reflections.get_reflection(session, reflection_id, viewer=LOCAL))
    _say_reflection(out, "notes saved")
