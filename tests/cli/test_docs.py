"""docs/cli.md stays true: its examples run, top to bottom, and every command has one."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from lessonloop.cli.main import app
from lessonloop.store.engine import Database
from tests.cli import Cli

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
MINE = {"lessonloop.cli.people_cmds", "lessonloop.cli.loop_cmds", "lessonloop.cli.serve_cmds"}

# The answers typed in the interactive transcript of `lessonloop review 3`.
TRANSCRIPT_ANSWERS = [
    "The on-call notes carry everything the next shift needs",
    "Nobody had complained before",
    "A new shift pattern with no overlap",
    "Hand-offs have no checklist and no overlap",
    "process",
    "Nothing in the hand-off required a check of open incidents",
    "Two people on leave",
    "",
    "Written notes are enough for a hand-off",
    "",
    "Add a 15-minute overlap to every shift change",
    "cy-park",
    "2030-01-15",
    "",
    "n",
]


def doc_blocks() -> list[tuple[str, str]]:
    return FENCE.findall(DOC.read_text(encoding="utf-8"))


def my_commands() -> list[str]:
    names = [info.name or "" for info in app.registered_commands if info.callback.__module__ in MINE]  # type: ignore[union-attr]
    for group in app.registered_groups:
        sub = group.typer_instance
        if sub is None:
            continue
        for info in sub.registered_commands:
            if info.callback is not None and info.callback.__module__ in MINE:
                names.append(f"{group.name} {info.name}")
    return names


def test_every_command_has_an_example() -> None:
    text = DOC.read_text(encoding="utf-8")
    commands = my_commands()
    assert len(commands) >= 30
    missing = [
        name for name in commands if f"lessonloop {name} " not in text and f"lessonloop {name}\n" not in text
    ]
    assert missing == []


def test_the_examples_run_in_order(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks = doc_blocks()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "review.md").write_text(next(b for lang, b in blocks if lang == "markdown"), encoding="utf-8")
    (tmp_path / "review.yaml").write_text(next(b for lang, b in blocks if lang == "yaml"), encoding="utf-8")
    cli = Cli(sqlite_db.settings.database_url)
    ran = 0
    for lang, body in blocks:
        if lang == "bash":
            for line in body.splitlines():
                if line.startswith("lessonloop "):
                    cli(*shlex.split(line)[1:])
                    ran += 1
        elif lang == "text" and body.startswith("$ lessonloop review 3\n"):
            result = cli("review", "3", input="\n".join(TRANSCRIPT_ANSWERS) + "\n")
            produced = [line.rstrip() for line in result.stdout.splitlines()]
            for expected in body.splitlines()[1:]:
                if not expected.startswith(("╭", "│", "╰")):
                    assert expected.rstrip() in produced
            ran += 1
    assert ran > 60

    one = cli.json("show", "1")
    assert one["failure"]["status"] == "learned" and one["repeats"] == [4]
    assert [p["handle"] for p in one["review"]["reviewers"]] == ["ana", "ben"]
    assert [e["verdict"] for e in one["experiments"]] == ["passed"]
    assert cli.json("show", "2")["review"]["gap_type"] == "process"
    assert cli.json("show", "3")["failure"]["status"] == "acting"
    assert [g["owner"]["handle"] for g in cli.json("overdue")] == ["ben"]
