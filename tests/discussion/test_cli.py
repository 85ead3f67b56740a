"""The discussion commands: comment, timeline, link, attach (SQLite: the adapter is the point)."""

from __future__ import annotations

from pathlib import Path

from lessonloop import limits
from lessonloop.store.engine import Database
from tests.cli import Cli


def _setup(cli: Cli) -> None:
    cli("person", "add", "Ana Lead", "--handle", "ana")
    cli("log", "Vendor slipped the launch", "--visibility", "org")


def test_comment_timeline_link_and_attach(sqlite_db: Database, tmp_path: Path) -> None:
    cli = Cli(str(sqlite_db.engine.url))
    _setup(cli)
    added = cli.json("comment", "add", "failure", "1", "@ana please look", "--author", "ana")
    assert added["text"] == "@ana please look"
    assert [c["id"] for c in cli.json("comment", "list", "failure", "1")] == [added["id"]]
    cli("timeline", "add", "1", "--at", "2026-05-01 14:05", "vendor confirmed the slip")
    items = cli.json("timeline", "show", "1")
    assert any(i["kind"] == "entry" and i["text"] == "vendor confirmed the slip" for i in items)
    cli("link", "add", "1", "https://status.example.com/42", "--label", "Status page")
    assert "must start with http:// or https://" in cli.fails("link", "add", "1", "ftp://x.example.com")
    note = tmp_path / "notes.txt"
    note.write_text("hello")
    cli("attach", "1", str(note))
    listed = cli.json("link", "list", "1")
    assert [x["label"] for x in listed["links"]] == ["Status page"]
    assert [a["filename"] for a in listed["attachments"]] == ["notes.txt"]


def test_attach_refuses_a_file_over_the_limit(sqlite_db: Database, tmp_path: Path) -> None:
    cli = Cli(str(sqlite_db.engine.url))
    _setup(cli)
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * (limits.ATTACHMENT_MAX_BYTES + 1))
    assert "an attachment may be at most 5 MiB" in cli.fails("attach", "1", str(big))
