"""The `lessonloop` command. Each module below registers its own commands on :data:`app`."""

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


def _register() -> None:
    # Imported for their side effect of adding commands; each module owns one area.
    import importlib

    for name in (
        "db_cmds",
        "people_cmds",
        "auth_cmds",
        "loop_cmds",
        "portability_cmds",
        "signals_cmds",
        "insight_cmds",
        "serve_cmds",
        "worker_cmds",
        "followthrough_cmds",
        "remote_cmds",
    ):
        try:
            importlib.import_module(f"lessonloop.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"lessonloop.cli.{name}":
                raise


def main() -> None:
    _register()
    app()


_register()
