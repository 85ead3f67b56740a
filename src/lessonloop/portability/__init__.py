"""Moving a workspace in and out: JSON Lines imports (native and public post-mortems) and export.

Both imports read lines through :func:`lines.read_lines` and write through one bulk path,
:class:`bulk.BulkLoader` (Core executemany in batches, history and search index kept in bulk),
inside the caller's transaction: a bad line leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from lessonloop.errors import Invalid
from lessonloop.portability.lines import LineError, Progress
from lessonloop.portability.native import export_workspace, import_native
from lessonloop.portability.postmortems import import_public_postmortems
from lessonloop.portability.workspace import ImportResult, nonempty_tables, workspace_is_empty

FORMATS = ("native", "public-postmortems")


def import_file(
    session: Session, stream: Iterable[bytes], *, format: str = "native", progress: Progress | None = None
) -> ImportResult:
    """Import ``stream`` (lines of bytes) in ``format``; the caller commits or rolls back."""
    if format == "native":
        return import_native(session, stream, progress=progress)
    if format == "public-postmortems":
        return import_public_postmortems(session, stream, progress=progress)
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
