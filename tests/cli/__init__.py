"""Helpers for CLI tests: run `lessonloop` commands in-process against a test database."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner, Result

from lessonloop.cli import common
from lessonloop.cli.main import app


class Cli:
    """``cli("person", "add", "Ana")`` runs ``lessonloop --database-url URL person add Ana``."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None, ok: bool = True) -> Result:
        try:
            result = self.runner.invoke(app, ["--database-url", self.url, *args], input=input)
        finally:
            common.reset()  # close the engine: nothing stays open between commands or tests
        if ok:
            assert result.exit_code == 0, (
                f"lessonloop {' '.join(args)} exited {result.exit_code}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}\nexception: {result.exception!r}"
            )
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--json").stdout)

    def fails(self, *args: str, input: str | None = None) -> str:
        """Run a command that must be refused; return its one-line error."""
        result = self(*args, input=input, ok=False)
        assert result.exit_code == 1, (result.exit_code, result.stdout, result.stderr, result.exception)
        assert "Traceback" not in result.output
        assert isinstance(result.exception, SystemExit), repr(result.exception)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("error: ")
        return lines[0]
