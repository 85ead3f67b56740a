"""The append-only history log: who changed which fields of which record, old → new.

It is written by a session hook (:func:`record_flush`), not by each service, so no path that
writes through the ORM can forget it.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, cast

from sqlalchemy import JSON, ColumnElement, Index, Integer, String, and_, func, insert, or_, select
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column
from sqlalchemy.orm.attributes import get_history

from lessonloop.errors import NotFound
from lessonloop.store.base import Base, UTCDateTime, utcnow


class HistoryEntry(Base):
    __tablename__ = "history"
    __table_args__ = (Index("ix_history_record", "record_type", "record_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_type: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(10))  # create | update | delete
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Base):
        return getattr(value, "id", None)
    return value


def _changes(obj: Base, action: str) -> dict[str, Any]:
    mapper = obj.__mapper__
    exclude = type(obj).__history_exclude__
    out: dict[str, Any] = {}
    for attr in mapper.column_attrs:
        key = attr.key
        if key in exclude or key == "id":
            continue
        if action == "create":
            value = getattr(obj, key)
            if value is not None:
                out[key] = [None, _plain(value)]
        elif action == "delete":
            hist = get_history(obj, key)
            old = hist.deleted[0] if hist.deleted else getattr(obj, key)
            if old is not None:
                out[key] = [_plain(old), None]
        else:
            hist = get_history(obj, key)
            if hist.has_changes():
                old = hist.deleted[0] if hist.deleted else None
                new = hist.added[0] if hist.added else None
                if old != new:
                    out[key] = [_plain(old), _plain(new)]
    if action == "update":
        for rel in mapper.relationships:
            if not rel.uselist or rel.key in exclude or rel.viewonly:
                continue
            hist = get_history(obj, rel.key)
            if hist.added or hist.deleted:
                out[rel.key] = {
                    "added": [_describe(o) for o in hist.added],
                    "removed": [_describe(o) for o in hist.deleted],
                }
    return out


def _describe(obj: Any) -> Any:
    label = getattr(obj, "history_label", None)
    if callable(label):
        return label()
    return getattr(obj, "id", None)


def record_flush(session: Session, _flush_context: Any) -> None:
    """``after_flush`` hook: ids are assigned and attribute history is still readable here."""
    actor = str(session.info.get("actor") or "system")
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for action, objs in (("create", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in objs:
            if isinstance(obj, HistoryEntry) or not isinstance(obj, Base):
                continue
            if getattr(type(obj), "__history_skip__", False):
                continue
            if action == "update" and not session.is_modified(obj):
                continue
            changes = _changes(obj, action)
            if action == "update" and not changes:
                continue
            rows.append(
                {
                    "record_type": getattr(obj, "__record_type__", obj.__tablename__),
                    "record_id": obj.id,  # type: ignore[attr-defined]
                    "action": action,
                    "actor": actor,
                    "at": now,
                    "changes": changes,
                }
            )
    if rows:
        session.connection().execute(insert(HistoryEntry), rows)


def note(session: Session, record_type: str, record_id: int, changes: dict[str, list[Any]]) -> None:
    """An entry for something said about a record that changes none of its columns (an answer
    that leaves it as it was), by the session's actor, as :func:`record_flush` names it."""
    session.connection().execute(
        insert(HistoryEntry),
        [
            {
                "record_type": record_type,
                "record_id": record_id,
                "action": "update",
                "actor": str(session.info.get("actor") or "system"),
                "at": utcnow(),
                "changes": changes,
            }
        ],
    )


def list_history(session: Session, record_type: str, record_id: int) -> list[HistoryEntry]:
    """The history of the record that has this id *now*, oldest first.

    :class:`~lessonloop.errors.NotFound` when no record of that type has the id (a deleted
    record's history is not readable by its old id). Entries up to the last ``delete`` of the
    id belong to an earlier record that had it (ids reused by SQLite before migration 0010, or
    restored by an import), so they are left out.
    """
    if not _exists(session, record_type, record_id):
        raise NotFound(f"no {record_type} with id {record_id}", field=f"{record_type}_id")
    same = (HistoryEntry.record_type == record_type, HistoryEntry.record_id == record_id)
    last_delete = select(func.max(HistoryEntry.id)).where(*same, HistoryEntry.action == "delete")
    stmt = (
        select(HistoryEntry)
        .where(*same, HistoryEntry.id > func.coalesce(last_delete.scalar_subquery(), 0))
        .order_by(HistoryEntry.id)
    )
    return list(session.scalars(stmt))


def histories_of(session: Session, ids: dict[str, list[int]]) -> list[HistoryEntry]:
    """The history of several records at once (``{record_type: [ids]}``), oldest first, in one
    statement. The records exist now (their caller read them); as in :func:`list_history`,
    entries up to the last ``delete`` of an id belong to an earlier record and are left out."""
    wanted = [after_last_delete(kind, record_ids) for kind, record_ids in ids.items() if record_ids]
    if not wanted:
        return []
    return list(session.scalars(select(HistoryEntry).where(or_(*wanted)).order_by(HistoryEntry.id)))


def after_last_delete(record_type: str, record_ids: Any) -> ColumnElement[bool]:
    """Entries of these records of a type, after the last ``delete`` of each id (if any): the
    history of the records that have these ids now."""
    earlier = aliased(HistoryEntry)
    last_delete = (
        select(func.max(earlier.id))
        .where(
            earlier.record_type == HistoryEntry.record_type,
            earlier.record_id == HistoryEntry.record_id,
            earlier.action == "delete",
        )
        .scalar_subquery()
    )
    return and_(
        HistoryEntry.record_type == record_type,
        HistoryEntry.record_id.in_(record_ids),
        HistoryEntry.id > func.coalesce(last_delete, 0),
    )


def _exists(session: Session, record_type: str, record_id: int) -> bool:
    model = _model_of(record_type)
    if model is not None:
        return session.get(model, record_id) is not None
    # A type no model names (an old export's): gone when its last entry is a delete.
    last = session.scalar(
        select(HistoryEntry.action)
        .where(HistoryEntry.record_type == record_type, HistoryEntry.record_id == record_id)
        .order_by(HistoryEntry.id.desc())
        .limit(1)
    )
    return last is not None and last != "delete"


def _model_of(record_type: str) -> type[Base] | None:
    for mapper in Base.registry.mappers:
        cls = mapper.class_
        if getattr(cls, "__record_type__", None) == record_type or cls.__tablename__ == record_type:
            return cast(type[Base], cls)
    return None
