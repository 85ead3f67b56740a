"""Correcting from the CLI (issue #12): a lesson (edit, unpublish, retract), an experiment and its
observations, a guardrail, a recognition, an escalation's owner, a comment and a timeline entry.
Every correction is one history row naming who made it (``--as``). SQLite: the adapter is the point.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from lessonloop.actions.models import today_utc
from lessonloop.escalations.models import Escalation
from lessonloop.store.engine import Database
from lessonloop.store.history import HistoryEntry, list_history
from tests.cli import Cli
from tests.cli.test_loop import setup_people


def _day(offset: int) -> str:
    return (today_utc() + dt.timedelta(days=offset)).isoformat()


def _world(db: Database) -> Cli:
    """ana (lead) and ben of Payments; failure 1 with action 1 (ben's)."""
    cli = Cli(db.settings.database_url)
    setup_people(cli)
    cli("log", "Refunds stuck for a day", "--team", "Payments", "--reporter", "ana")
    cli("action", "add", "1", "Add an idempotency key", "--owner", "ben", "--due", "+7d")
    return cli


def _last(db: Database, record_type: str, record_id: int) -> tuple[str, str, set[str]]:
    with db.unit() as session:
        entry = list_history(session, record_type, record_id)[-1]
        return entry.actor, entry.action, set(entry.changes)


def test_lesson_edit_unpublish_and_retract(sqlite_db: Database) -> None:
    cli = _world(sqlite_db)
    cli("lesson", "add", "Date deps", "--learned", "Verbal dates slip", "--failure", "1", "--publish")
    assert (
        "edited lesson 1: Date every dependency"
        in cli("--as", "ana", "lesson", "edit", "1", "--title", "Date every dependency").stdout
    )
    assert _last(sqlite_db, "lesson", 1) == ("ana", "update", {"title"})
    cli("lesson", "unpublish", "1")
    assert cli.json("lesson", "show", "1")["published_at"] is None
    assert "only a published lesson is retracted" in cli.fails("lesson", "retract", "1", "--reason", "Wrong")
    cli("lesson", "publish", "1")
    assert "retracted lesson 1" in cli("lesson", "retract", "1", "--reason", "The slip was a one-off").stdout
    shown = cli.json("lesson", "show", "1")
    assert shown["retraction_reason"] == "The slip was a one-off" and shown["retracted_at"]
    assert "retracted" in cli.fails("lesson", "edit", "1", "--title", "Again")


def test_experiment_edit_correct_delete_an_observation_and_delete_it(sqlite_db: Database) -> None:
    cli = _world(sqlite_db)
    cli(
        "experiment", "add", "1", "--hypothesis", "Keys stop duplicates", "--metric", "duplicates",
        "--comparator", "<=", "--threshold", "0", "--end", "+14d",
    )  # fmt: skip
    cli("experiment", "observe", "1", "3", "--at", f"{_day(0)}T08:00")
    cli("experiment", "observe", "1", "0", "--at", f"{_day(0)}T09:00")
    assert cli.json("experiment", "show", "1")["verdict"] == "passed"
    assert "→ failed" in cli("--as", "ana", "experiment", "edit", "1", "--threshold", "-1").stdout
    assert _last(sqlite_db, "experiment", 1) == ("ana", "update", {"threshold"})
    cli("experiment", "edit", "1", "--threshold", "1")
    assert "→ verdict failed" in cli("experiment", "correct", "1", "2", "--value", "5").stdout
    assert "→ verdict failed" in cli("experiment", "delete-observation", "1", "2").stdout  # 3 decides
    shown = cli.json("experiment", "show", "1")
    assert [o["value"] for o in shown["observations"]] == [3] and shown["verdict"] == "failed"
    with sqlite_db.unit() as session:  # the history keeps what it said (the record is gone)
        deleted = session.scalars(
            select(HistoryEntry).where(HistoryEntry.record_type == "observation", HistoryEntry.record_id == 2)
        ).all()[-1]
    assert deleted.action == "delete" and deleted.changes["value"] == [5, None]
    assert "no observation with id 2" in cli.fails("experiment", "correct", "1", "2", "--value", "1")
    assert "deleted experiment 1 of failure 1" in cli("experiment", "delete", "1").stdout
    assert cli.json("experiment", "list") == []
    assert "no experiment with id 1" in cli.fails("experiment", "show", "1")


def test_guardrail_edit_and_recognition_edit_and_delete(sqlite_db: Database) -> None:
    cli = _world(sqlite_db)
    cli(
        "guardrail", "add", "No Friday deploys", "--owner", "ben", "--until", "+20d",
        "--rollback", "Deploy again", "--team", "Payments", "--failure", "1",
    )  # fmt: skip
    out = cli("--as", "ana", "guardrail", "edit", "1", "--title", "No deploys on Fridays", "--owner", "ana")
    assert "edited guardrail 1: No deploys on Fridays, owner ana" in out.stdout
    assert _last(sqlite_db, "guardrail", 1) == ("ana", "update", {"title", "owner_id"})
    assert "No deploys on Fridays" in cli("guardrail", "show", "1").stdout

    cli("recognition", "add", "ben", "--kind", "win", "--by", "ana", "--note", "Shipped")
    cli("--as", "ana", "recognition", "edit", "1", "--note", "Said plainly the date was never written")
    assert _last(sqlite_db, "recognition", 1) == ("ana", "update", {"note"})
    assert [r["note"] for r in cli.json("recognition", "list")] == ["Said plainly the date was never written"]
    cli("recognition", "delete", "1")
    assert cli.json("recognition", "list") == []


def test_an_escalation_is_handed_to_someone_who_may_see_it(sqlite_db: Database) -> None:
    cli = _world(sqlite_db)
    cli("person", "add", "Gil Other", "--handle", "gil")  # in no team: may not see the failure
    with sqlite_db.unit(actor="test") as session:
        esc = Escalation(
            rule="label",
            subject_key="deploy",
            subject="deploy",
            team_id=1,
            support_route="team-lead",
            failure_ids=[1],
            count=3,
            window_days=30,
            explanation="Three deploy failures",
        )
        session.add(esc)
        session.flush()
        eid = str(esc.id)
    assert "owner: " in cli.fails("escalations", "update", eid, "--owner", "gil")
    cli("--as", "ana", "escalations", "update", eid, "--owner", "ben")
    assert _last(sqlite_db, "escalation", int(eid)) == ("ana", "update", {"owner_id"})


def test_comment_and_timeline_entry_are_edited_and_deleted(sqlite_db: Database) -> None:
    cli = _world(sqlite_db)
    cli("comment", "add", "failure", "1", "The vendor log says 14:05", "--author", "ben")
    assert (
        "changed comment 1" in cli("--as", "ben", "comment", "edit", "1", "The vendor log says 14:10").stdout
    )
    assert [c["text"] for c in cli.json("comment", "list", "failure", "1")] == ["The vendor log says 14:10"]
    assert _last(sqlite_db, "comment", 1)[:2] == ("ben", "update")
    cli("comment", "delete", "1")
    assert cli.json("comment", "list", "failure", "1") == []

    cli("timeline", "add", "1", "--at", "2026-05-01 14:05", "vendor confirmed the slip", "--author", "ben")
    assert "nothing to change" in cli.fails("timeline", "edit", "1")
    moved = cli.json("timeline", "edit", "1", "--at", "2026-05-01 09:30", "--text", "vendor confirmed it")
    assert (moved["at"], moved["text"]) == ("2026-05-01T09:30:00Z", "vendor confirmed it")
    assert "at: " in cli.fails("timeline", "edit", "1", "--at", "someday")
    entries = [i for i in cli.json("timeline", "show", "1") if i["kind"] == "entry"]
    assert [(i["entry_id"], i["text"]) for i in entries] == [(1, "vendor confirmed it")]
    cli("timeline", "delete", "1")
    assert [i for i in cli.json("timeline", "show", "1") if i["kind"] == "entry"] == []
