"""Shared test helpers: write JSON Lines, count rows, empty a database, read the search index."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from lessonloop.portability import export_workspace
from lessonloop.store.engine import Database
from lessonloop.store.registry import metadata
from lessonloop.store.search import doc_id
from tests.factories import SYSTEM


def write_lines(path: Path, lines: list[Any]) -> Path:
    """Each item is a dict (dumped as JSON) or a raw string (written as is)."""
    with path.open("w", encoding="utf-8") as out:
        for line in lines:
            out.write((line if isinstance(line, str) else json.dumps(line)) + "\n")
    return path


def count(session: Session, model: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def export_text(db: Database) -> str:
    buf = io.StringIO()
    with db.unit() as session:
        export_workspace(session, buf, viewer=SYSTEM)
    return buf.getvalue()


def wipe(db: Database) -> None:
    """Empty every table (and the search index) and restart PostgreSQL sequences at 1."""
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names}, search_documents RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())
            conn.execute(text("DELETE FROM search_fts"))


def indexed(session: Session, kind: str, record_id: int) -> tuple[str, str] | None:
    """The (title, body) stored in the search index for one record."""
    conn = session.connection()
    table, col = ("search_fts", "rowid") if conn.dialect.name == "sqlite" else ("search_documents", "doc_id")
    row = conn.execute(
        text(f"SELECT title, body FROM {table} WHERE {col} = :d"), {"d": doc_id(kind, record_id)}
    ).first()
    return None if row is None else (row[0], row[1])
