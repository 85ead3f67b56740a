"""A consistent copy of a SQLite database while it is in use, and putting one back.

:func:`backup_sqlite` uses SQLite's online backup API (``sqlite3.Connection.backup``) in one
step: it copies every page under one read transaction, so the copy is the database as of one
commit, whatever other connections (the server, the worker) write meanwhile; in WAL mode they are
not held up. The copy is written beside the target and renamed into place, then checked with
``PRAGMA integrity_check``.

:func:`restore_sqlite` copies a backup back with the same API into the database file (so a
server that has it open sees the restored data at its next read, and nothing is half-copied),
refusing a database that holds rows unless ``force``. PostgreSQL has its own tools (``pg_dump``,
``pg_restore``): see docs/reliability.md.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from lessonloop.errors import Conflict, Invalid
from lessonloop.store.registry import metadata


@dataclass(frozen=True)
class BackupResult:
    path: Path
    rows: dict[str, int]  # rows per table of the schema, as copied

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def sqlite_file(engine: Engine) -> str:
    """The file behind a SQLite engine; refuses other backends and in-memory databases."""
    if engine.dialect.name != "sqlite":
        raise Invalid(
            "lessonloop db backup/restore copies SQLite files; for PostgreSQL use pg_dump and "
            "pg_restore (see docs/reliability.md, 'Backup')",
            field="database",
        )
    database = engine.url.database or ""
    if database in ("", ":memory:") or "mode=memory" in database:
        raise Invalid("an in-memory database cannot be backed up or restored", field="database")
    return database


@contextlib.contextmanager
def _connect(path: str) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(path, uri=path.startswith("file:"), isolation_level=None, timeout=30.0)
    try:
        yield conn
    finally:
        conn.close()


def row_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Rows per table of the schema that exists in ``conn``'s database."""
    present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return {
        t.name: int(conn.execute(f'SELECT COUNT(*) FROM "{t.name}"').fetchone()[0])
        for t in metadata.sorted_tables
        if t.name in present
    }


def _check_integrity(conn: sqlite3.Connection, what: str) -> None:
    problems = [r[0] for r in conn.execute("PRAGMA integrity_check")]
    if problems != ["ok"]:
        raise Invalid(f"{what} fails SQLite's integrity check: {problems[0]}", field="file")


def backup_sqlite(engine: Engine, target: Path, *, force: bool = False) -> BackupResult:
    """Copy the database behind ``engine`` to ``target`` as of one commit; see the module doc."""
    source = sqlite_file(engine)
    if target.exists() and not force:
        raise Conflict(f"{target} exists: pass --force to replace it", field="file")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or None)
    os.close(fd)
    try:
        with _connect(source) as src, _connect(tmp) as dst:
            src.backup(dst)  # pages=-1: every page in one step, under one read transaction
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
            _check_integrity(dst, "the copy")
            rows = row_counts(dst)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return BackupResult(target, rows)


def _holds_rows(conn: sqlite3.Connection) -> list[str]:
    return [name for name, n in row_counts(conn).items() if n]


def _revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:  # no such table
        return None
    return None if row is None else str(row[0])


def restore_sqlite(
    engine: Engine,
    backup: Path,
    *,
    force: bool = False,
    check_revision: Callable[[str | None], object] = lambda _rev: None,
) -> BackupResult:
    """Put ``backup`` (a file made by :func:`backup_sqlite`) back as the database of ``engine``.

    ``check_revision`` is given the backup's schema revision first (the CLI refuses one newer
    than this code: :func:`lessonloop.store.migrate.check_revision`)."""
    target = sqlite_file(engine)
    if not backup.is_file():
        raise Invalid(f"{backup} is not a file", field="file")
    with _connect(backup.resolve().as_uri() + "?mode=ro") as src:
        try:
            _check_integrity(src, str(backup))
            rows = row_counts(src)
            revision = _revision(src)
        except sqlite3.DatabaseError as exc:
            raise Invalid(f"{backup} is not a lessonloop SQLite backup ({exc})", field="file") from None
        if not rows:
            raise Invalid(f"{backup} holds no lessonloop tables", field="file")
        check_revision(revision)
        with _connect(target) as dst:
            busy = _holds_rows(dst)
            if busy and not force:
                raise Conflict(
                    f"the database is not empty ({', '.join(busy[:5])}): pass --force to replace it",
                    field="database",
                )
            src.backup(dst)  # under the destination's write lock: readers see before or after
    return BackupResult(backup, rows)
