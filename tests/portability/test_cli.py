"""`lessonloop import / export / demo` in-process, against SQLite files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lessonloop.cli import common
from lessonloop.cli.main import app
from lessonloop.failures.models import Failure
from lessonloop.store.engine import Database
from tests.cli import Cli
from tests.portability import synthetic
from tests.portability.helpers import count, write_lines


def bad_input(cli: Cli, *args: str) -> str:
    """Run an import that must be refused as malformed: one error line, exit code 2."""
    result = cli(*args, ok=False)
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr, result.exception)
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.fixture
def cli(sqlite_db: Database) -> Cli:
    return Cli(sqlite_db.settings.database_url)


@pytest.fixture
def other_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A second empty, migrated database."""
    path = tmp_path / "other.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def test_import_public_postmortems_reports_created_then_skipped(
    cli: Cli, sqlite_db: Database, tmp_path: Path
) -> None:
    path = synthetic.write(tmp_path / "pm.jsonl", 30)
    first = cli.json("import", str(path), "--format", "public-postmortems")
    assert first == {"format": "public-postmortems", "created": 30, "skipped": 0, "by_type": {"failure": 30}}
    second = cli("import", str(path), "-f", "public-postmortems")
    assert second.stdout.strip() == "created 0, skipped 30"
    with sqlite_db.unit() as session:
        assert count(session, Failure) == 30


@pytest.mark.data
def test_import_the_real_files_from_the_cli(cli: Cli, data_dir: Path) -> None:
    for path in sorted(data_dir.glob("*.jsonl")):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        result = cli.json("import", str(path), "--format", "public-postmortems")
        assert (result["created"], result["skipped"]) == (lines, 0)


def test_a_malformed_line_is_one_error_line_and_nothing_is_kept(
    cli: Cli, sqlite_db: Database, tmp_path: Path
) -> None:
    path = write_lines(
        tmp_path / "bad.jsonl",
        [{"id": "a", "title": "fine"}, {"id": "b", "title": "fine too"}, {"id": "c", "categories": []}],
    )
    error = bad_input(cli, "import", str(path), "--format", "public-postmortems")
    assert error == "error: line 3: title: is required"
    with sqlite_db.unit() as session:
        assert count(session, Failure) == 0


def test_missing_file_and_wrong_format_are_refused(cli: Cli, tmp_path: Path) -> None:
    assert "No such file" in cli.fails("import", str(tmp_path / "nope.jsonl"))
    pm = write_lines(tmp_path / "pm.jsonl", [{"id": "a", "title": "A post-mortem"}])
    assert "--format public-postmortems" in bad_input(cli, "import", str(pm))


def test_demo_export_import_export_round_trip(cli: Cli, other_url: str, tmp_path: Path) -> None:
    out = cli("demo").stdout
    assert out.startswith("demo workspace ready: 4 teams, 8 people, 12 failures")
    assert "not empty" in cli.fails("demo")

    first = tmp_path / "first.jsonl"
    result = cli("export", str(first))
    assert result.stdout.startswith("exported ") and str(first) in result.stdout
    stdout_copy = cli("export", "-").stdout
    assert stdout_copy == first.read_text(encoding="utf-8")

    other = Cli(other_url)
    imported = other.json("import", str(first))
    assert imported["format"] == "native" and imported["by_type"]["failure"] == 12
    second = tmp_path / "second.jsonl"
    other("export", str(second))
    assert second.read_bytes() == first.read_bytes()
    assert "not empty" in other.fails("import", str(first))
    assert "not empty" in other.fails("demo")


def test_import_reads_stdin(other_url: str, cli: Cli) -> None:
    cli("demo")
    data = cli("export", "-").stdout
    runner = CliRunner()
    try:
        result = runner.invoke(app, ["--database-url", other_url, "import", "-", "--json"], input=data)
    finally:
        common.reset()
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["created"] == len(data.splitlines()) - 1
