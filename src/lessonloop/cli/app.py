"""The `lessonloop` Typer application and its global options.

Command modules import :data:`app` from here (not from :mod:`lessonloop.cli.main`, which imports
every command module to register it), so importing one command module never cycles back."""

from __future__ import annotations

import typer

from lessonloop.cli import common

app = typer.Typer(
    name="lessonloop",
    help="Turn failures into learning signals: observe → interpret → act → re-evaluate.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    database_url: str = typer.Option(
        None,
        "--database-url",
        envvar="LESSONLOOP_DATABASE_URL",
        help="SQLAlchemy URL (default ./lessonloop.db).",
    ),
    actor: str = typer.Option(
        None, "--as", envvar="LESSONLOOP_ACTOR", help="Who is acting (recorded in history)."
    ),
) -> None:
    common.reset()
    if database_url:
        from dataclasses import replace

        common._state["settings"] = replace(common.settings(), database_url=database_url)
    if actor:
        common._state["actor"] = actor
