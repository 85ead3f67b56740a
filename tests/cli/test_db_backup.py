"""`lessonloop db backup` / `db restore` (issue #17): a consistent copy while others write."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from lessonloop.settings import Settings
from lessonloop.store.engine import Database
from tests.cli import Cli
from tests.factories import failure


def _counts(path: Path) -> dict[str, int]:
    """What a consistent snapshot must agree on: rows written together in one transaction."""
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]

        def one(sql: str) -> int:
            return int(conn.execute(sql).fetchone()[0])

        return {
            "failures": one("SELECT COUNT(*) FROM failures"),
            "created": one(
                "SELECT COUNT(*) FROM history WHERE record_type = 'failure' AND action = 'create'"
            ),
            "indexed": one("SELECT COUNT(*) FROM search_fts WHERE kind = 'failure'"),
        }


class Writer:
    """Logs failures one transaction at a time, on another thread, until stopped."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.commits = 0
        self.stop = threading.Event()
        self.started = threading.Event()
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            while not self.stop.is_set():
                with self.db.unit(actor="writer") as session:
                    failure(session, title=f"Concurrent failure {self.commits}", observation="x " * 200)
                self.commits += 1
                if self.commits >= 5:
                    self.started.set()
        except BaseException as exc:  # reported by the test
            self.errors.append(exc)
            self.started.set()


@pytest.fixture
def writer(sqlite_db: Database) -> Iterator[Writer]:
    w = Writer(sqlite_db)
    w.thread.start()
    assert w.started.wait(60)
    yield w
    w.stop.set()
    w.thread.join(60)
    assert not w.errors, w.errors


def test_a_backup_taken_while_another_thread_writes_is_consistent(
    sqlite_db: Database, writer: Writer, tmp_path: Path
) -> None:
    cli = Cli(sqlite_db.settings.database_url)
    copies = []
    for n in range(3):
        before = writer.commits
        target = tmp_path / f"backup-{n}.db"
        out = cli("db", "backup", str(target)).stdout
        assert "integrity check ok" in out
        counts = _counts(target)
        assert counts["failures"] == counts["created"] == counts["indexed"] >= before, counts
        copies.append(counts["failures"])
    writer.stop.set()
    writer.thread.join(60)
    assert copies == sorted(copies) and writer.commits > copies[0]  # the writer kept going
    # the copy is a lessonloop database: it opens (no migration needed) and reads
    backup = Database.open(Settings(database_url=f"sqlite:///{tmp_path / 'backup-2.db'}"), migrate=False)
    try:
        with backup.unit() as session:
            assert session.execute(text("SELECT COUNT(*) FROM failures")).scalar_one() == copies[2]
    finally:
        backup.close()


def _filled(sqlite_db: Database, n: int) -> None:
    with sqlite_db.unit(actor="tester") as session:
        for i in range(n):
            failure(session, title=f"Failure {i}")


def test_backup_refuses_to_overwrite_a_file_unless_forced(sqlite_db: Database, tmp_path: Path) -> None:
    cli = Cli(sqlite_db.settings.database_url)
    target = tmp_path / "copy.db"
    target.write_text("keep me")
    assert "--force" in cli.fails("db", "backup", str(target))
    assert target.read_text() == "keep me"
    _filled(sqlite_db, 2)
    cli("db", "backup", str(target), "--force")
    assert _counts(target)["failures"] == 2


def test_restore_into_an_empty_database_and_only_forced_over_data(
    sqlite_db: Database, sqlite_template: Path, tmp_path: Path
) -> None:
    _filled(sqlite_db, 3)
    backup = tmp_path / "backup.db"
    Cli(sqlite_db.settings.database_url)("db", "backup", str(backup))

    fresh = tmp_path / "fresh.db"
    shutil.copy(sqlite_template, fresh)
    restored = Cli(f"sqlite:///{fresh}")
    assert "restored" in restored("db", "restore", str(backup)).stdout
    assert _counts(fresh) == _counts(backup) == {"failures": 3, "created": 3, "indexed": 3}
    assert "Failure 2" in restored("failures").stdout  # the restored database is usable

    # the original now holds more: restoring over it needs --force
    _filled(sqlite_db, 2)
    cli = Cli(sqlite_db.settings.database_url)
    assert "not empty" in cli.fails("db", "restore", str(backup))
    assert _counts(Path(sqlite_db.settings.database_url.removeprefix("sqlite:///")))["failures"] == 5
    cli("db", "restore", str(backup), "--force")
    with sqlite_db.unit() as session:  # the server's own pool sees the restored data
        assert session.execute(text("SELECT COUNT(*) FROM failures")).scalar_one() == 3


def test_restore_refuses_what_is_not_a_backup_or_is_from_a_newer_lessonloop(
    sqlite_db: Database, tmp_path: Path
) -> None:
    cli = Cli(sqlite_db.settings.database_url)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    assert "not a lessonloop SQLite backup" in cli.fails("db", "restore", str(junk))
    backup = tmp_path / "backup.db"
    cli("db", "backup", str(backup))
    with sqlite3.connect(backup) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'ffff_future'")
    _filled(sqlite_db, 1)
    result = cli("db", "restore", str(backup), "--force", ok=False)
    assert result.exit_code == 2 and "ffff_future" in result.stderr
    with sqlite_db.unit() as session:
        assert session.execute(text("SELECT COUNT(*) FROM failures")).scalar_one() == 1


def test_postgresql_points_at_pg_dump_with_exit_code_2(pg_db: Database) -> None:
    for command in ("backup", "restore"):
        result = Cli(pg_db.settings.database_url)("db", command, "/tmp/lessonloop-never-written.db", ok=False)
        assert result.exit_code == 2 and "pg_dump" in result.stderr, result.stderr
    assert not Path("/tmp/lessonloop-never-written.db").exists()
