"""A database written by a newer lessonloop (issue #17): one line naming both revisions, exit
code 2, nothing changed; for opening it, migrating it, every CLI command and `make run`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, text

from lessonloop.cli import serve_cmds
from lessonloop.store import migrate
from lessonloop.store.engine import Database
from lessonloop.store.migrate import SchemaTooNew
from tests.cli import Cli

FUTURE = "ffff_future"


def _snapshot(engine: Engine) -> dict[str, Any]:
    """Every table's row count and the recorded revision."""
    with engine.connect() as conn:
        names = sorted(inspect(conn).get_table_names())
        counts = {n: conn.execute(text(f'SELECT COUNT(*) FROM "{n}"')).scalar_one() for n in names}
        return {
            "counts": counts,
            "revision": conn.execute(text("SELECT version_num FROM alembic_version")).all(),
        }


@pytest.fixture
def future(db: Database) -> Iterator[Database]:
    """``db`` as a newer lessonloop left it: a revision this code has never heard of."""
    head = migrate.head_revision(db.engine)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": FUTURE})
    try:
        yield db
    finally:  # the PostgreSQL database is shared by the whole run
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})


def _one_line_naming_both(message: str, head: str) -> None:
    assert len(message.strip().splitlines()) == 1, message
    assert f"'{FUTURE}'" in message and f"'{head}'" in message and "newer lessonloop" in message


def test_opening_or_migrating_refuses_and_changes_nothing(future: Database) -> None:
    head = migrate.head_revision(future.engine)
    assert head is not None
    before = _snapshot(future.engine)
    for attempt in (
        lambda: Database.open(future.settings),
        lambda: Database.open(future.settings, migrate=False),
        lambda: migrate.upgrade(future.engine),
        lambda: migrate.downgrade(future.engine, "0001"),
        lambda: migrate.ensure_schema(future.engine),
    ):
        with pytest.raises(SchemaTooNew) as info:
            attempt()
        _one_line_naming_both(str(info.value), head)
        assert (info.value.found, info.value.newest) == (FUTURE, head)
    assert _snapshot(future.engine) == before


@pytest.fixture
def no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    def run_server(*_args: Any) -> None:
        raise AssertionError("the server started on a database newer than this code")

    monkeypatch.setattr(serve_cmds, "run_server", run_server)


@pytest.mark.parametrize(
    "command",
    [
        ["person", "list"],
        ["failures"],
        ["import", "-"],
        ["export", "-"],
        ["db", "current"],
        ["db", "upgrade"],
        ["serve"],
        ["serve", "--demo-if-empty"],  # what `make run` runs
    ],
)
def test_every_cli_command_says_it_in_one_line_with_exit_code_2(
    future: Database, no_server: None, command: list[str]
) -> None:
    head = migrate.head_revision(future.engine)
    assert head is not None
    before = _snapshot(future.engine)
    result = Cli(future.settings.database_url)(*command, input="", ok=False)
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output
    lines = [x for x in result.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, result.stderr
    [line] = lines
    assert line.startswith("error: database: ")
    _one_line_naming_both(line, head)
    assert _snapshot(future.engine) == before


def test_make_run_entry_point_exits_2_with_one_line(sqlite_db: Database, tmp_path: Path) -> None:
    """`make run` is `lessonloop serve --demo-if-empty` from the virtual environment."""
    with sqlite_db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": FUTURE})
    env = {**os.environ, "LESSONLOOP_DATABASE_URL": sqlite_db.settings.database_url, "COLUMNS": "200"}
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("lessonloop")), "serve", "--port", "1", "--demo-if-empty"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == "" and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert FUTURE in proc.stderr
