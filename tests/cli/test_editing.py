"""`lessonloop action edit`, `action add --backfill`, `action done --done-on`."""

from __future__ import annotations

import datetime as dt
import re

from lessonloop.actions.models import today_utc
from lessonloop.store.engine import Database
from tests.cli import Cli
from tests.cli.test_loop import setup_people


def _day(offset: int) -> str:
    return (today_utc() + dt.timedelta(days=offset)).isoformat()


def _failure(cli: Cli) -> str:
    setup_people(cli)
    return str(cli.json("log", "Refunds stuck for a day", "--team", "Payments", "--reporter", "ana")["id"])


def test_action_edit_reassigns_and_moves_the_dates(sqlite_db: Database) -> None:
    cli = Cli(sqlite_db.settings.database_url)
    fid = _failure(cli)
    cli("action", "add", fid, "Add an idempotency key", "--owner", "ben", "--due", "+7d")
    out = cli("action", "edit", "1", "--owner", "ana", "--due", _day(10), "--review", _day(30)).stdout
    assert f"changed action 1: Add an idempotency key (owner ana, due {_day(10)}, review {_day(30)})" in out
    assert cli.json("action", "list", "--failure", fid)["items"][0]["owner"]["handle"] == "ana"


def test_a_past_due_date_needs_backfill(sqlite_db: Database) -> None:
    cli = Cli(sqlite_db.settings.database_url)
    fid = _failure(cli)
    error = cli.fails("action", "add", fid, "Add an idempotency key", "--owner", "ben", "--due", _day(-3))
    assert error.startswith(f"error: due_date: Due date {_day(-3)} is in the past")
    cli("action", "add", fid, "Add an idempotency key", "--owner", "ben", "--due", _day(-3), "--backfill")
    assert cli.fails("action", "edit", "1", "--due", _day(-5)).startswith("error: due_date: Due date")
    cli("action", "edit", "1", "--due", _day(-5), "--backfill")
    assert cli.json("action", "list", "--failure", fid)["items"][0]["due_date"] == _day(-5)


def test_action_done_on_back_fills_the_done_date(sqlite_db: Database) -> None:
    cli = Cli(sqlite_db.settings.database_url)
    fid = _failure(cli)
    cli("action", "add", fid, "Add an idempotency key", "--owner", "ben", "--due", _day(-10), "--backfill")
    assert cli.fails("action", "done", "1", "--evidence", "merged", "--done-on", _day(3)).startswith(
        "error: done_at: must not be in the future"
    )
    cli("action", "done", "1", "--evidence", "merged", "--done-on", _day(-12))
    action = cli.json("action", "list", "--failure", fid)["items"][0]
    assert action["status"] == "done" and action["closed_at"].startswith(_day(-12))


def test_edit_corrects_and_clears_the_reporter(sqlite_db: Database) -> None:
    cli = Cli(sqlite_db.settings.database_url)
    fid = _failure(cli)
    ben = next(p["id"] for p in cli.json("person", "list") if p["handle"] == "ben")
    assert f"updated failure {fid}: reporter" in cli("edit", fid, "--reporter", "ben").stdout
    assert cli.json("show", fid)["failure"]["reporter_id"] == ben
    assert re.search(r"reporter\s+ben", cli("show", fid).stdout)
    cli("edit", fid, "--reporter", "")
    assert cli.json("show", fid)["failure"]["reporter_id"] is None
    assert cli.fails("edit", fid, "--reporter", "nobody").startswith("error: reporter:")
