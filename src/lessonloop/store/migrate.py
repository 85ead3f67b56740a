"""Run Alembic migrations programmatically (`lessonloop db upgrade`, app start, tests)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy import Connection, Engine

from lessonloop.errors import LessonloopError

MIGRATIONS = Path(__file__).with_name("migrations")


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Autogenerate filter: the search tables are made by hand (FTS5 / tsvector, the postings
    of ``store.postings``)."""
    return not (type_ == "table" and name is not None and name.startswith("search_"))


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


class SchemaTooNew(LessonloopError):
    """The database was written by a newer lessonloop: its revision is unknown to this code.

    Nothing is changed: migrating down or up from an unknown revision is impossible, and running
    on a schema that has moved on could read or write it wrongly. The CLI prints the message on
    one line and exits with code 2 (:mod:`lessonloop.cli.common`).
    """

    status_code = 503

    def __init__(self, found: str, newest: str | None) -> None:
        super().__init__(
            f"the database is at schema revision {found!r}, which this lessonloop does not know "
            f"(the newest it knows is {newest!r}): it was written by a newer lessonloop; "
            "run that version or upgrade this one (nothing was changed)",
            field="database",
        )
        self.found = found
        self.newest = newest


def check_not_newer(engine: Engine) -> str | None:
    """The database's revision; raises :class:`SchemaTooNew` when this code does not know it."""
    return check_revision(engine, current_revision(engine))


def check_revision(engine: Engine, found: str | None) -> str | None:
    """``found`` when this code knows that revision (or it is ``None``); else :class:`SchemaTooNew`."""
    if found is None:
        return None
    scripts = ScriptDirectory.from_config(alembic_config(engine))
    try:
        known = scripts.get_revision(found) is not None
    except (CommandError, RevisionError):  # alembic's "Can't locate revision"
        known = False
    if not known:
        raise SchemaTooNew(found, scripts.get_current_head())
    return found


class ForeignKeyViolation(RuntimeError):
    """A migration left rows whose foreign keys point nowhere; it was rolled back."""


@contextmanager
def migration_connection(engine: Engine) -> Iterator[Connection]:
    """One connection in one transaction for a whole upgrade or downgrade.

    On SQLite the migrations rebuild tables (copy, drop, rename). With foreign keys on, dropping
    a parent table fires ``ON DELETE CASCADE`` and empties its children (issue #17: a downgrade
    to 0001 lost every experiment). ``PRAGMA foreign_keys`` is ignored inside a transaction, so
    it is switched off before ``BEGIN``; ``PRAGMA foreign_key_check`` then runs before the
    commit and any dangling reference rolls the whole migration back. The pragma is switched
    on again before the connection goes back to the pool.
    """
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            yield conn
        return
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            # A savepoint opens the transaction now, whether the engine's hooks emit BEGIN
            # before a write (store/engine.py) or pysqlite sends none before DDL: every CREATE,
            # DROP and copy below commits together or not at all. Commit/rollback end it.
            conn.exec_driver_sql("SAVEPOINT lessonloop_migration")
            try:
                yield conn
                _check_foreign_keys(conn)
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
        finally:
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            conn.commit()


def _check_foreign_keys(conn: Connection) -> None:
    rows = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if rows:
        shown = ", ".join(f"{r[0]} row {r[1]} -> {r[2]}" for r in rows[:5])
        raise ForeignKeyViolation(f"the migration left {len(rows)} broken foreign key(s): {shown}")


def upgrade(engine: Engine, revision: str = "head") -> None:
    check_not_newer(engine)
    cfg = alembic_config(engine)
    with migration_connection(engine) as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str) -> None:
    check_not_newer(engine)
    cfg = alembic_config(engine)
    with migration_connection(engine) as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def ensure_schema(engine: Engine) -> bool:
    """Upgrade to head when behind; returns True when anything ran. A database newer than this
    code raises :class:`SchemaTooNew` and is left as it is."""
    if check_not_newer(engine) == head_revision(engine):
        return False
    upgrade(engine)
    return True
