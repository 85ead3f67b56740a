"""The worker, notifications and action check from the command line."""

from __future__ import annotations

import datetime as dt

from lessonloop.actions.service import add_action
from lessonloop.store.engine import Database
from lessonloop.worker import checks
from tests.cli import Cli
from tests.factories import SYSTEM, failure, team_with_people


def test_worker_once_then_lists_and_check(sqlite_db: Database) -> None:
    today = dt.date.today()
    with sqlite_db.unit() as s:
        team_with_people(s)
        f = failure(s, team="Payments")
        a = add_action(
            s,
            failure_id=f.id,
            title="Dated check",
            owner="ben",
            due_date=today + dt.timedelta(days=1),
            viewer=SYSTEM,
        )
        aid = a.id
    cli = Cli(sqlite_db.settings.database_url)
    out = cli("worker", "--once", "--job", "action-reminders").stdout
    assert "action-reminders: 1 reminders" in out
    assert "0 reminders" in cli("worker", "--once", "--job", "action-reminders").stdout
    items = cli.json("notifications", "list", "--user", "ben")
    assert len(items) == 1 and items[0]["kind"] == "reminder" and not items[0]["read"]
    assert "is read" in cli("notifications", "read", str(items[0]["id"])).stdout
    assert cli.json("notifications", "list", "--user", "ben", "--unread") == []
    assert cli("notifications", "dead").stdout.strip() == "no dead deliveries"
    assert "needs a URL" in cli.fails("notifications", "prefs", "ben", "--channel", "webhook")
    assert "public address" in cli.fails(
        "notifications", "prefs", "ben", "--channel", "webhook", "--webhook-url", "http://127.0.0.1:9/h"
    )
    prefs = cli.json(
        "notifications",
        "prefs",
        "ben",
        "--channel",
        "webhook",
        "--webhook-url",
        "https://hooks.example.com/h",
    )
    assert prefs["channels"] == ["in-app", "webhook"]
    assert "worked = yes" in cli("action", "check", str(aid), "--worked", "yes", "--note", "no slips").stdout
    assert "worked" in cli.fails("action", "check", str(aid), "--worked", "maybe")
    with sqlite_db.unit() as s:
        assert checks.verified_action_ids(s, viewer=SYSTEM) == {aid}
    assert "action-reminders" in cli("worker", "jobs").stdout
