"""docs/followthrough.md stays true: its examples run in order and print what it shows."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from lessonloop.store.engine import Database
from tests.cli import Cli

DOC = Path(__file__).resolve().parents[2] / "docs" / "followthrough.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def test_the_examples_run_in_order(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    cli = Cli(sqlite_db.settings.database_url)
    blocks = FENCE.findall(DOC.read_text(encoding="utf-8"))
    ran = 0
    for lang, body in blocks:
        if lang == "bash":
            for line in body.splitlines():
                if line.startswith("lessonloop "):
                    cli(*shlex.split(line)[1:])
                    ran += 1
    assert ran >= 25
    assert (tmp_path / "postmortem-1.html").exists()

    texts = [body for lang, body in blocks if lang == "text"]
    diff = next(t for t in texts if t.startswith("--- Kickoff"))
    assert cli("checklist", "diff", "Kickoff", "1", "2").stdout == diff
    refusal = next(t for t in texts if t.startswith("$ lessonloop checklist revise"))
    command, expected = refusal.strip().splitlines()
    assert cli.fails(*shlex.split(command)[2:]) == expected
