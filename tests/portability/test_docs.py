"""docs/import-export.md stays true: its shell examples run, in order, in an empty folder."""

from __future__ import annotations

import filecmp
import json
import re
import shlex
from pathlib import Path

import pytest

from lessonloop.cli import common
from lessonloop.cli.main import app
from tests.conftest import DATA_DIR

DOC = Path(__file__).resolve().parents[2] / "docs" / "import-export.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _blocks(lang: str) -> list[str]:
    return [body for kind, body in FENCE.findall(DOC.read_text(encoding="utf-8")) if kind == lang]


def test_shell_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LESSONLOOP_DATABASE_URL", raising=False)
    runner = CliRunner()
    outputs: list[str] = []
    for block in _blocks("bash"):
        if "../shared/data" in block:
            if not DATA_DIR.is_dir():
                continue
            block = block.replace("../shared/data", str(DATA_DIR))
        for line in block.strip().splitlines():
            args = shlex.split(line)
            if args[0] == "cmp":
                assert filecmp.cmp(args[1], args[2], shallow=False), line
                continue
            assert args[0] == "lessonloop", line
            try:
                result = runner.invoke(app, args[1:])
            finally:
                common.reset()
            assert result.exit_code == 0, (line, result.output)
            outputs.append(result.stdout)
    if DATA_DIR.is_dir():
        documented = json.loads(_blocks("json")[0])
        assert json.loads(outputs[-2]) == documented
        assert outputs[-3].strip() == "created 126 (126 failure), skipped 0"
