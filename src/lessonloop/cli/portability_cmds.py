"""`lessonloop import`, `lessonloop export`, `lessonloop demo`: a workspace in and out."""

from __future__ import annotations

import enum
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from lessonloop.cli import common
from lessonloop.cli.app import app
from lessonloop.cli.common import LOCAL
from lessonloop.errors import Invalid


class Format(enum.StrEnum):
    native = "native"
    public_postmortems = "public-postmortems"


@contextmanager
def _progress(total: int | None) -> Iterator[Progress]:
    """A progress bar on stderr, shown only when stderr is a terminal."""
    bar = Progress(
        TextColumn("importing"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=common.err_console,
        disable=not common.err_console.is_terminal,
        transient=True,
    )
    with bar:
        yield bar


@contextmanager
def _open_input(file: str) -> Iterator[tuple[BinaryIO, int | None]]:
    if file == "-":
        yield sys.stdin.buffer, None
        return
    path = Path(file)
    with path.open("rb") as stream:
        yield stream, path.stat().st_size


@app.command("import")
@common.handle_errors
def import_(
    file: str = typer.Argument(..., help="JSON Lines file to read ('-' for stdin)."),
    format: Format = typer.Option(Format.native, "--format", "-f", help="Format of FILE."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    chunk: int | None = typer.Option(
        None,
        "--chunk",
        min=1,
        help="public-postmortems: records per commit (default 2000); other writers go between chunks.",
    ),
) -> None:
    """Import FILE: a native export (into an empty database) or public post-mortems (idempotent)."""
    from lessonloop.portability import import_file  # imported on use: other commands skip it

    try:
        with _open_input(file) as (stream, size), _progress(size) as bar:
            task = bar.add_task("import", total=size)
            with common.unit() as session:
                result = import_file(
                    session,
                    stream,
                    format=format.value,
                    progress=lambda n: bar.advance(task, n),
                    chunk_size=chunk,
                    viewer=LOCAL,
                )
    except Invalid as exc:  # malformed input (it names the line and field): exit code 2, as for usage
        raise common.fail(str(exc), code=2) from None
    if as_json:
        common.print_json(result.as_dict())
        return
    details = ", ".join(f"{n} {name}" for name, n in result.by_type.items())
    common.console.print(
        f"created {result.created}" + (f" ({details})" if details else "") + f", skipped {result.skipped}",
        highlight=False,
    )


@app.command("export")
@common.handle_errors
def export(
    file: str = typer.Argument(..., help="File to write ('-' for stdout)."),
) -> None:
    """Write the whole workspace to FILE as JSON Lines (native format)."""
    from lessonloop.portability import export_workspace

    with common.unit() as session:
        if file == "-":
            counts = export_workspace(session, sys.stdout, viewer=LOCAL)
            sys.stdout.flush()
        else:
            target = Path(file)
            # Write beside the target and rename: a failed export leaves no half-written file.
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
                    counts = export_workspace(session, out, viewer=LOCAL)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
    total = sum(counts.values())
    if file == "-":  # keep stdout clean for the data
        common.err_console.print(f"exported {total} records to stdout", highlight=False)
    else:
        common.console.print(f"exported {total} records to {file}", highlight=False)


@app.command("demo")
@common.handle_errors
def demo() -> None:
    """Fill an EMPTY workspace with a realistic sample: teams, failures, reviews, actions, lessons."""
    from lessonloop.demo import build_demo

    with common.unit() as session:
        summary = build_demo(session)
    counts = ", ".join(f"{n} {name}" for name, n in summary.as_dict().items())
    common.console.print(f"demo workspace ready: {counts}", highlight=False)
