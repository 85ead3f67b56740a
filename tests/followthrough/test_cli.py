"""The follow-through commands, end to end through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from lessonloop.store.engine import Database
from tests.cli import Cli


def _setup(cli: Cli) -> None:
    cli("team", "add", "Payments")
    cli("person", "add", "Ana Ruiz", "--handle", "ana")
    cli("person", "add", "Ben Okafor", "--handle", "ben")
    cli("team", "member", "Payments", "ana", "--role", "lead")
    cli("team", "member", "Payments", "ben")
    cli("log", "Checkout v2 missed the launch", "--team", "Payments", "--kind", "missed-deadline")


def test_checklist_commands(sqlite_db: Database) -> None:
    cli = Cli(sqlite_db.settings.database_url)
    _setup(cli)
    out = cli(
        "checklist",
        "add",
        "Kickoff",
        "--kind",
        "checklist",
        "--item",
        "Name an owner",
        "--item",
        "Agree the scope",
    ).stdout
    assert "added checklist Kickoff v1 (2 items)" in out
    error = cli.fails("checklist", "revise", "Kickoff", "--item", "x", "--reason", "tidy")
    assert "failure that prompted it" in error
    cli(
        "checklist",
        "revise",
        "Kickoff",
        "--item",
        "Name an owner",
        "--item",
        "Agree the scope",
        "--item",
        "Date every dependency",
        "--because-of",
        "1",
        "--reason",
        "Vendor slipped",
    )
    shown = cli.json("checklist", "show", "Kickoff", "--version", "1")
    assert shown["version"] == 1 and shown["items"] == ["Name an owner", "Agree the scope"]
    latest = cli.json("checklist", "show", "Kickoff")
    assert latest["version"] == 2 and latest["failure_id"] == 1
    assert "Checkout v2" in cli("checklist", "show", "Kickoff").stdout
    diff = cli("checklist", "diff", "Kickoff", "1", "2").stdout
    assert "--- Kickoff v1" in diff and "+Date every dependency" in diff
    history = cli.json("checklist", "history", "Kickoff")
    assert [r["version"] for r in history["revisions"]] == [1, 2] and history["shaped_by"] == [1]
    assert "v2" in cli("checklist", "history", "Kickoff").stdout
    assert cli.json("checklist", "list")[0]["shaped_by"] == [1]
    changed = cli.json("changed-because", "1")
    assert [(r["checklist"], r["version"]) for r in changed["revisions"]] == [("Kickoff", 2)]
    assert "Kickoff" in cli("changed-because", "1").stdout
    assert "version" in cli.fails("checklist", "diff", "Kickoff", "1", "7")


def test_guardrail_commands(sqlite_db: Database) -> None:
    cli = Cli(sqlite_db.settings.database_url)
    _setup(cli)
    assert "owner" in cli.fails(
        "guardrail", "add", "No Friday deploys", "--owner", "", "--until", "+14d", "--rollback", "Lift it"
    )
    cli(
        "guardrail",
        "add",
        "No Friday deploys",
        "--owner",
        "ana",
        "--until",
        "+14d",
        "--rollback",
        "Lift it",
        "--team",
        "Payments",
        "--failure",
        "1",
        "--reason",
        "Two Friday incidents",
    )
    rows = cli.json("guardrail", "list")
    assert [(g["title"], g["status"], g["failure_id"]) for g in rows] == [("No Friday deploys", "active", 1)]
    assert "active — expires in 14 days" in cli("guardrail", "list").stdout
    assert "reason" in cli.fails("guardrail", "renew", "1", "--until", "+30d", "--reason", " ")
    cli("guardrail", "renew", "1", "--until", "+30d", "--reason", "Canary not ready", "--by", "ana")
    shown = cli.json("guardrail", "show", "1")
    assert shown["status"] == "renewed" and shown["decisions"][0]["reason"] == "Canary not ready"
    assert "Canary not ready" in cli("guardrail", "show", "1").stdout
    cli("guardrail", "retire", "1", "--reason", "Canary shipped")
    assert cli.json("guardrail", "list") == []
    assert cli.json("guardrail", "list", "--status", "retired")[0]["id"] == 1
    assert "retired already" in cli.fails("guardrail", "retire", "1", "--reason", "again")


def test_recognition_commands(sqlite_db: Database) -> None:
    cli = Cli(sqlite_db.settings.database_url)
    _setup(cli)
    cli(
        "recognition",
        "add",
        "ben",
        "--kind",
        "candid-review",
        "--by",
        "ana",
        "--failure",
        "1",
        "--note",
        "Named the skipped check",
    )
    cli("recognition", "add", "ana", "--kind", "win")
    rows = cli.json("recognition", "list", "--team", "Payments")
    assert [r["person"] for r in rows] == ["ana", "ben"]
    assert cli.json("recognition", "list", "--person", "ben")[0]["note"] == "Named the skipped check"
    counts = cli.json("recognition", "counts", "--team", "Payments")
    assert counts["total"] == 2 and counts["by_kind"]["candid-review"] == 1
    assert "2 in all" in cli("recognition", "counts").stdout
    assert "kind" in cli.fails("recognition", "add", "ben", "--kind", "heroics")


def test_digest_and_postmortem_commands(sqlite_db: Database, tmp_path: Path) -> None:
    cli = Cli(sqlite_db.settings.database_url)
    _setup(cli)
    cli(
        "lesson",
        "add",
        "Date every dependency",
        "--learned",
        "Verbal dates <slip>",
        "--failure",
        "1",
        "--audience",
        "Payments",
        "--publish",
    )
    md = cli("digest", "Payments").stdout
    assert md.startswith("# Weekly learning digest: Payments")
    today = json.loads(cli("digest", "Payments", "--json").stdout)["week_ending"]
    week = cli("digest", "Payments", "--week-ending", "+6d").stdout
    assert "Date every dependency" in week and today
    html = cli("digest", "Payments", "--week-ending", "+6d", "--html").stdout
    assert html.startswith("<!DOCTYPE html>") and "Verbal dates &lt;slip&gt;" in html
    assert "queued for 2 members" in cli("digest", "Payments", "--week-ending", "+6d", "--send").stderr
    assert "week_ending" in cli.fails("digest", "Payments", "--week-ending", "someday")

    doc = cli("postmortem", "1").stdout
    assert doc.startswith("# Post-mortem: Checkout v2 missed the launch") and "## Root cause" in doc
    target = tmp_path / "pm.html"
    assert "wrote" in cli("postmortem", "1", "--format", "html", "-o", str(target)).stdout
    assert "@media print" in target.read_text(encoding="utf-8")
    assert "format" in cli.fails("postmortem", "1", "--format", "pdf")
    assert "no failure" in cli.fails("postmortem", "42")
