"""Is a workspace empty, and what an import reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, exists, select
from sqlalchemy.orm import Session

from lessonloop.store.base import Base
from lessonloop.store.history import HistoryEntry
from lessonloop.store.registry import metadata


def nonempty_tables(session: Session, *, everything: bool = False) -> list[str]:
    """Names of the tables that hold at least one row.

    Unless ``everything``, the history log and machine bookkeeping (records the history log
    skips: sign-in sessions, worker runs, notifications, embeddings) do not count.
    """
    bookkeeping = {
        cast(Table, mapper.local_table).name
        for mapper in Base.registry.mappers
        if getattr(mapper.class_, "__history_skip__", False)
    }
    found = []
    for table in metadata.sorted_tables:
        if not everything and (table.name == HistoryEntry.__tablename__ or table.name in bookkeeping):
            continue
        if session.scalar(select(exists().select_from(table))):
            found.append(table.name)
    return found


def workspace_is_empty(session: Session) -> bool:
    """True when nobody and nothing is in it yet: no person, team, failure, lesson, ...

    The history log and machine bookkeeping are not counted: records created and deleted again,
    or a worker run on an empty database, leave an empty workspace.
    """
    return not nonempty_tables(session)


@dataclass
class ImportResult:
    format: str
    created: int = 0
    skipped: int = 0
    by_type: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "created": self.created,
            "skipped": self.skipped,
            "by_type": dict(self.by_type),
        }
