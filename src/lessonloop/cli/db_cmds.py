"""`lessonloop db ...`: schema migrations."""

from __future__ import annotations

import typer

from lessonloop.cli import common
from lessonloop.cli.main import app
from lessonloop.store import migrate
from lessonloop.store.engine import make_engine

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
@common.handle_errors
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    engine = make_engine(common.settings())
    before = migrate.current_revision(engine)
    migrate.upgrade(engine, revision)
    after = migrate.current_revision(engine)
    engine.dispose()
    common.console.print(f"database at revision {after} (was {before or 'empty'})")


@db_app.command("current")
@common.handle_errors
def current() -> None:
    """Show the schema revision of the database."""
    engine = make_engine(common.settings())
    common.console.print(
        f"{migrate.current_revision(engine) or 'empty'} (head {migrate.head_revision(engine)})"
    )
    engine.dispose()
