"""Moving a workspace in and out: JSON Lines imports (native and public post-mortems) and export.

Both imports read lines through :func:`lines.read_lines` and write through one bulk path,
:class:`bulk.BulkLoader` (Core executemany in batches, history and search index kept in bulk):
a bad line leaves nothing behind. A native restore is the caller's one transaction; public
post-mortems are checked whole, then committed in chunks of whole records (postmortems.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor
from lessonloop.errors import Invalid
from lessonloop.portability.lines import LineError, Progress
from lessonloop.portability.native import export_workspace, import_native
from lessonloop.portability.postmortems import import_public_postmortems
from lessonloop.portability.workspace import ImportResult, nonempty_tables, workspace_is_empty

FORMATS = ("native", "public-postmortems")


def import_file(
    session: Session,
    stream: Iterable[bytes],
    *,
    format: str = "native",
    progress: Progress | None = None,
    chunk_size: int | None = None,
    viewer: Actor,
) -> ImportResult:
    """Import ``stream`` (lines of bytes) in ``format``. A native restore is one transaction (the
    caller commits or rolls back); public post-mortems commit every ``chunk_size`` records."""
    if format == "native":
        return import_native(session, stream, progress=progress, viewer=viewer)
    if format == "public-postmortems":
        chunks = {} if chunk_size is None else {"chunk_size": chunk_size}
        return import_public_postmortems(session, stream, progress=progress, viewer=viewer, **chunks)
    raise Invalid(f"must be one of: {', '.join(FORMATS)} (got {format!r})", field="format")


__all__ = [
    "FORMATS",
    "ImportResult",
    "LineError",
    "export_workspace",
    "import_file",
    "import_native",
    "import_public_postmortems",
    "nonempty_tables",
    "workspace_is_empty",
]
