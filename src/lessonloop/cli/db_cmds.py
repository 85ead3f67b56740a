"""`lessonloop db ...`: schema migrations, backup and restore."""

from __future__ import annotations

from pathlib import Path

import typer

from lessonloop.cli import common
from lessonloop.cli.app import app
from lessonloop.store import backup as backups
from lessonloop.store import migrate
from lessonloop.store.engine import make_engine

db_app = typer.Typer(help="Database schema, backup and restore.", no_args_is_help=True)
app.add_typer(db_app, name="db")

PG_BACKUP_HINT = (
    "lessonloop db backup copies SQLite files; on PostgreSQL use its own tools while the server "
    "runs: pg_dump --format=custom --file FILE URL, and pg_restore --clean --dbname URL FILE "
    "(docs/reliability.md, 'Backup')"
)


@db_app.command("upgrade")
@common.handle_errors
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    engine = make_engine(common.settings())
    try:
        before = migrate.check_not_newer(engine)  # a newer schema: one line, exit 2, untouched
        migrate.upgrade(engine, revision)
        after = migrate.current_revision(engine)
    finally:
        engine.dispose()
    common.console.print(f"database at revision {after} (was {before or 'empty'})")


@db_app.command("current")
@common.handle_errors
def current() -> None:
    """Show the schema revision of the database."""
    engine = make_engine(common.settings())
    try:
        found = migrate.check_not_newer(engine)
        common.console.print(f"{found or 'empty'} (head {migrate.head_revision(engine)})")
    finally:
        engine.dispose()


@db_app.command("backup")
@common.handle_errors
def backup(
    file: Path = typer.Argument(..., help="File to write the copy to.", dir_okay=False),
    force: bool = typer.Option(False, "--force", help="Replace FILE if it exists."),
) -> None:
    """Copy the SQLite database to FILE, consistent as of one commit, while others keep writing."""
    engine = make_engine(common.settings())
    try:
        if engine.dialect.name != "sqlite":
            raise common.fail(PG_BACKUP_HINT, code=2)
        result = backups.backup_sqlite(engine, file, force=force)
    finally:
        engine.dispose()
    common.console.print(
        f"backed up {result.total} rows in {len(result.rows)} tables to {file} (integrity check ok)",
        highlight=False,
    )


@db_app.command("restore")
@common.handle_errors
def restore(
    file: Path = typer.Argument(..., help="A file written by `lessonloop db backup`.", dir_okay=False),
    force: bool = typer.Option(False, "--force", help="Replace a database that holds rows."),
) -> None:
    """Put a backup back as the SQLite database (an empty one unless --force)."""
    engine = make_engine(common.settings())
    try:
        if engine.dialect.name != "sqlite":
            raise common.fail(PG_BACKUP_HINT, code=2)
        result = backups.restore_sqlite(
            engine, file, force=force, check_revision=lambda rev: migrate.check_revision(engine, rev)
        )
    finally:
        engine.dispose()
    common.console.print(
        f"restored {result.total} rows in {len(result.rows)} tables from {file}", highlight=False
    )
