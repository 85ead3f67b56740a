"""The native format: a whole workspace as JSON Lines, and back.

The first line is a header, then one record per line, grouped by type in dependency order and
by id within a type::

    {"type":"lessonloop","format":"native","version":1}
    {"type":"person","id":1,"handle":"ana",...}
    ... team, membership, account, api_token, assumption, failure, review, action,
    ... experiment, observation, lesson, escalation, coaching_note, development_plan, history

Every column is written (ids included; accounts and API tokens as stored: password hashes and
token digests, never secrets; sign-in sessions are left out) plus, on the record that owns them, the association
lists: a failure's ``labels`` and ``people``, a review's ``assumptions`` and ``reviewers``, a
lesson's ``failures`` and ``audience`` (ids, sorted). Times are ISO 8601 in UTC, dates
``YYYY-MM-DD``. The output is stable: exporting, importing into an empty database and exporting
again gives the same bytes.

Import restores into an EMPTY database only (every table, history included, must be empty):
ids are kept, the history entries come from the file (the import adds none), the search index
is rebuilt, and PostgreSQL sequences are moved past the imported ids. Every line is checked
(types, lengths, allowed values, unique fields, references) before anything is written; a bad
line raises :class:`~lessonloop.portability.lines.LineError` with its number and field.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TextIO, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    Integer,
    LargeBinary,
    String,
    Table,
    UniqueConstraint,
    bindparam,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.types import JSON

from lessonloop.access.actor import Actor, is_person, require_actor
from lessonloop.actions.models import ActionStatus
from lessonloop.coaching.models import PlanStatus
from lessonloop.discussion.models import TargetKind
from lessonloop.errors import Conflict, Invalid
from lessonloop.escalations.models import EscalationRule, EscalationStatus, SupportRoute
from lessonloop.experiments.verdict import COMPARATORS
from lessonloop.failures.models import (
    FailureKind,
    FailureLabel,
    FailureStatus,
    Severity,
    Visibility,
    failure_people,
)
from lessonloop.lessons.models import lesson_audience, lesson_failures
from lessonloop.people.models import Role
from lessonloop.portability.bulk import BulkLoader, Row, table_of
from lessonloop.portability.lines import LineError, Progress, read_lines, type_name
from lessonloop.portability.scoped import ExportScope
from lessonloop.portability.workspace import ImportResult, nonempty_tables
from lessonloop.reviews.models import (
    AssumptionStatus,
    GapType,
    ReviewStatus,
    review_assumptions,
    review_reviewers,
)
from lessonloop.store.base import Base, UTCDateTime
from lessonloop.store.history import HistoryEntry

FORMAT = "native"
#: The largest id a record may have: ids are INTEGER (PostgreSQL's is 32-bit) and the id sequence
#: is moved past the largest imported id, which must itself still fit.
ID_MAX = 2**31 - 2
HEADER_TYPE = "lessonloop"
VERSION = 1


@dataclass(frozen=True)
class Link:
    """An association table written as a list on the record that owns it."""

    field: str  # key in the record: "labels"
    table: Table
    own: str  # column pointing at the owning record: "failure_id"
    other: str  # column holding the listed value: "label"
    ref: str | None  # record type the listed ids point to; None for plain values


@dataclass(frozen=True)
class Kind:
    """One record type of the file: a table, written one record per row."""

    name: str
    table: Table
    model: type[Base] | None  # None for a plain table (written without history or search)
    links: tuple[Link, ...] = ()
    # Columns that point at records of the same type, written after every row is in.
    deferred: tuple[str, ...] = ()


# Association tables written as lists on the record that owns them.
LINKS: dict[str, tuple[Link, ...]] = {
    "failures": (
        Link("labels", table_of(FailureLabel), "failure_id", "label", None),
        Link("people", failure_people, "failure_id", "person_id", "person"),
    ),
    "reviews": (
        Link("assumptions", review_assumptions, "review_id", "assumption_id", "assumption"),
        Link("reviewers", review_reviewers, "review_id", "person_id", "person"),
    ),
    "lessons": (
        Link("failures", lesson_failures, "lesson_id", "failure_id", "failure"),
        Link("audience", lesson_audience, "lesson_id", "team_id", "team"),
    ),
}
# Tables deliberately left out of an export, and why.
EXCLUDED: dict[str, str] = {
    "web_sessions": "sign-in sessions are not workspace data: after a restore everyone signs in again",
    "failure_embeddings": "derived from the failures' text, like the search index: computed again",
    "sso_sign_in_attempts": "single sign-ons under way (ten minutes at most): not workspace data",
    "failure_counts": "derived from the failures by the database's triggers: counted again on import",
}


# The core of the loop first, in reading order; any other table after them (by name). A table
# still comes after every table it refers to.
PREFERRED = (
    "people",
    "teams",
    "memberships",
    "assumptions",
    "failures",
    "reviews",
    "actions",
    "experiments",
    "observations",
    "lessons",
)


def _ordered_tables() -> list[Table]:
    from lessonloop.store.registry import metadata  # complete: every model module imported

    def rank(table: Table) -> tuple[int, str]:
        return (PREFERRED.index(table.name) if table.name in PREFERRED else len(PREFERRED), table.name)

    needs = {
        t.name: {fk.column.table.name for fk in t.foreign_keys if fk.column.table is not t}
        for t in metadata.sorted_tables
    }
    ready = sorted((t for t in metadata.sorted_tables if not needs[t.name]), key=rank)
    done: list[Table] = []
    while ready:
        table = ready.pop(0)
        done.append(table)
        for other in metadata.sorted_tables:
            if other not in done and other not in ready and needs[other.name] <= {d.name for d in done}:
                ready.append(other)
        ready.sort(key=rank)
    # A cycle between tables (none today) would leave some out: keep SQLAlchemy's order for them.
    return done + [t for t in metadata.sorted_tables if t not in done]


def _derive_kinds() -> tuple[Kind, ...]:
    """Every table of the schema, each after the tables it refers to, the history log last. A
    table added to the schema is exported without a change here; association tables of
    :data:`LINKS` ride on their owner; :data:`EXCLUDED` stay out."""
    classes = {cast(Table, mapper.local_table).name: mapper.class_ for mapper in Base.registry.mappers}
    linked = {link.table.name for links in LINKS.values() for link in links}
    history = table_of(HistoryEntry)
    kinds: list[Kind] = []
    for table in [*(t for t in _ordered_tables() if t is not history), history]:
        if table.name in EXCLUDED or table.name in linked:
            continue
        model = classes.get(table.name)
        name = getattr(model, "__record_type__", "record")
        if table is history:
            name = "history"
        elif name == "record":  # no record type of its own: the table's name
            name = table.name
        deferred = tuple(c.name for c in table.columns for fk in c.foreign_keys if fk.column.table is table)
        kinds.append(Kind(name, table, model, LINKS.get(table.name, ()), deferred))
    names = [k.name for k in kinds]
    assert len(set(names)) == len(names), f"two tables share a record type: {names}"
    return tuple(kinds)


KINDS: tuple[Kind, ...] = _derive_kinds()
BY_NAME = {kind.name: kind for kind in KINDS}
BY_TABLE = {kind.table.name: kind for kind in KINDS}

# Columns whose values come from a fixed set (the database itself does not check them).
ALLOWED: dict[tuple[str, str], frozenset[str]] = {
    ("membership", "role"): frozenset(Role),
    ("failure", "kind"): frozenset(FailureKind),
    ("failure", "severity"): frozenset(Severity),
    ("failure", "visibility"): frozenset(Visibility),
    ("failure", "status"): frozenset(FailureStatus),
    ("review", "status"): frozenset(ReviewStatus),
    ("review", "gap_type"): frozenset(GapType),
    ("assumption", "status"): frozenset(AssumptionStatus),
    ("action", "status"): frozenset(ActionStatus),
    ("experiment", "comparator"): frozenset(COMPARATORS),
    ("escalation", "rule"): frozenset(EscalationRule),
    ("escalation", "status"): frozenset(EscalationStatus),
    ("escalation", "support_route"): frozenset(SupportRoute),
    ("development_plan", "status"): frozenset(PlanStatus),
    ("history", "action"): frozenset({"create", "update", "delete"}),
    ("comment", "target_kind"): frozenset(TargetKind),
}


# ----------------------------------------------------------------------------------------------
# Export
# ----------------------------------------------------------------------------------------------


def _sorted_json(value: Any) -> Any:
    """Nested objects with sorted keys, so the output does not depend on the backend."""
    if isinstance(value, dict):
        return {k: _sorted_json(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted_json(v) for v in value]
    return value


def _to_json(column: Column[Any], value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(column.type, JSON):
        return _sorted_json(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def _dumps(record: Mapping[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _link_map(session: Session, link: Link) -> dict[int, list[Any]]:
    found: dict[int, list[Any]] = defaultdict(list)
    for own, other in session.connection().execute(select(link.table.c[link.own], link.table.c[link.other])):
        found[own].append(other)
    for values in found.values():
        values.sort()
    return found


def _snapshot(session: Session) -> Connection:
    """The session's connection, reading one snapshot of the database for the whole export.

    Without it every SELECT saw the latest commit (SQLite outside a transaction, PostgreSQL's
    READ COMMITTED), so a write landing mid-export gave a file whose tables disagree. A session
    that has not started yet gets a REPEATABLE READ transaction (PostgreSQL) or a deferred read
    transaction (SQLite, WAL: writers carry on); one already started keeps its own. The snapshot
    is fixed by the first read, which is made at once.
    """
    if session.in_transaction():
        return session.connection()
    if session.get_bind().dialect.name == "postgresql":
        conn = session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        conn.exec_driver_sql("SELECT 1").all()  # the snapshot is taken by the first statement
    else:
        conn = session.connection()
        # Straight to the driver: the engine's hooks treat any BEGIN as the start of a write.
        conn.connection.dbapi_connection.execute("BEGIN")  # type: ignore[union-attr]
        conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").all()  # ...by the first read
    return conn


def export_workspace(session: Session, out: TextIO, *, viewer: Actor) -> dict[str, int]:
    """Write the workspace to ``out``; returns how many records of each type were written.

    ``viewer``: only what that person may see (:mod:`lessonloop.portability.scoped`); ``None``
    (the CLI on its own database) writes everything.
    """
    conn = _snapshot(session)
    scope = ExportScope.for_viewer(session, viewer) if is_person(viewer) else None
    out.write(_dumps({"type": HEADER_TYPE, "format": FORMAT, "version": VERSION}) + "\n")
    counts: dict[str, int] = {}
    for kind in KINDS:
        table = kind.table
        columns = [c for c in table.columns if c.name != "id"]
        links = {link.field: _link_map(session, link) for link in kind.links}
        stmt = select(table).order_by(table.c.id).execution_options(yield_per=2000)
        if scope is not None:
            stmt = stmt.where(scope.where(kind.name))
        n = 0
        for row in conn.execute(stmt).mappings():
            record: dict[str, Any] = {"type": kind.name, "id": row["id"]}
            for column in columns:
                record[column.name] = _to_json(column, row[column.name])
            for link in kind.links:
                record[link.field] = links[link.field].get(row["id"], [])
            if scope is not None:
                scope.clean(kind.name, record)
            out.write(_dumps(record) + "\n")
            n += 1
        counts[kind.name] = n
    return counts


# ----------------------------------------------------------------------------------------------
# Import
# ----------------------------------------------------------------------------------------------


def _from_json(kind: Kind, column: Column[Any], value: Any, line: int) -> Any:
    """Check and convert one JSON value for ``column``; raises LineError."""
    name = column.name
    if value is None:
        if not column.nullable:
            raise LineError(line, "must not be null", field=name)
        return None
    ctype = column.type

    def wrong(expected: str) -> LineError:
        return LineError(line, f"must be {expected}, got {type_name(value)}", field=name)

    if isinstance(ctype, UTCDateTime):
        if not isinstance(value, str):
            raise wrong("an ISO 8601 time")
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
        except (ValueError, OverflowError):  # OverflowError: an offset past year 1 or 9999
            raise LineError(line, f"is not an ISO 8601 time: {value!r}", field=name) from None
    if isinstance(ctype, Date):
        if not isinstance(value, str):
            raise wrong("a date (YYYY-MM-DD)")
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise LineError(line, f"is not a date (YYYY-MM-DD): {value!r}", field=name) from None
    if isinstance(ctype, Boolean):
        if not isinstance(value, bool):
            raise wrong("true or false")
        return value
    if isinstance(ctype, Integer):
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong("a whole number")
        # PostgreSQL's INTEGER (BIGINT) range: SQLite would store more, so both refuse it here.
        bound = 2**63 if isinstance(ctype, BigInteger) else 2**31
        if not -bound <= value < bound:
            raise LineError(line, f"is out of range (at most {bound - 1} in size)", field=name)
        return value
    if isinstance(ctype, Float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise wrong("a number")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):  # NaN and Infinity: SQLite would store NULL
            raise LineError(line, "must be a finite number", field=name)
        return number
    if isinstance(ctype, String):
        if not isinstance(value, str):
            raise wrong("a string")
        if ctype.length is not None and len(value) > ctype.length:
            raise LineError(line, f"is longer than {ctype.length} characters", field=name)
        allowed = ALLOWED.get((kind.name, name))
        if allowed is not None and value not in allowed:
            raise LineError(line, f"must be one of: {', '.join(sorted(allowed))} (got {value!r})", field=name)
        return value
    if isinstance(ctype, JSON):
        return value
    if isinstance(ctype, LargeBinary):
        if not isinstance(value, str):
            raise wrong("base64 text")
        try:
            return base64.b64decode(value, validate=True)
        except ValueError:
            raise LineError(line, "is not base64 text", field=name) from None
    raise LineError(line, f"has an unsupported column type {ctype!r}", field=name)  # pragma: no cover


@dataclass
class _Parsed:
    rows: dict[str, list[Row]]
    lines: dict[str, list[int]]  # line number of each row, same order
    links: dict[str, dict[str, list[list[Any]]]]  # kind → field → one list per row


def _parse_record(
    kind: Kind, line: int, data: dict[str, Any], now: dt.datetime
) -> tuple[Row, dict[str, list[Any]]]:
    table = kind.table
    known = {c.name for c in table.columns} | {link.field for link in kind.links} | {"type"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise LineError(line, f"is not a field of a {kind.name} record", field=unknown[0])
    row: Row = {}
    for column in table.columns:
        if column.name in data:
            row[column.name] = _from_json(kind, column, data[column.name], line)
        elif column.name == "id":
            raise LineError(line, "is required", field="id")
        elif column.name in {"created_at", "updated_at"}:
            row[column.name] = now
        elif column.nullable:
            row[column.name] = None
        elif column.default is not None and column.default.is_scalar:
            row[column.name] = column.default.arg  # type: ignore[attr-defined]
        else:
            raise LineError(line, "is required", field=column.name)
    if row["id"] < 1:
        raise LineError(line, "must be 1 or more", field="id")
    if row["id"] > ID_MAX:
        raise LineError(line, f"must be at most {ID_MAX}, so that the next record has an id", field="id")
    links: dict[str, list[Any]] = {}
    for link in kind.links:
        values = data.get(link.field, [])
        if not isinstance(values, list):
            raise LineError(line, f"must be a list, got {type_name(values)}", field=link.field)
        other = link.table.c[link.other]
        checked = [_from_json(kind, other, v, line) for v in values]
        if len(set(checked)) != len(checked):
            raise LineError(line, "lists a value twice", field=link.field)
        links[link.field] = checked
    return row, links


def _parse(stream: Iterable[bytes], progress: Progress | None, now: dt.datetime) -> _Parsed:
    parsed = _Parsed(
        rows={k.name: [] for k in KINDS},
        lines={k.name: [] for k in KINDS},
        links={k.name: {link.field: [] for link in k.links} for k in KINDS},
    )
    order = [k.name for k in KINDS]
    header_seen = False
    for line, data in read_lines(stream, progress):
        rtype = data.get("type")
        if not header_seen:
            if rtype != HEADER_TYPE:
                hint = (
                    " (this looks like a public-postmortems file: use --format public-postmortems)"
                    if rtype is None and "title" in data
                    else ""
                )
                raise LineError(line, f"expected the header of a lessonloop export{hint}", field="type")
            if data.get("version") != VERSION:
                raise LineError(
                    line,
                    f"version {data.get('version')!r} is not supported (expected {VERSION})",
                    field="version",
                )
            header_seen = True
            continue
        if not isinstance(rtype, str) or rtype not in BY_NAME:
            raise LineError(line, f"must be one of: {', '.join(order)} (got {rtype!r})", field="type")
        kind = BY_NAME[rtype]
        row, links = _parse_record(kind, line, data, now)
        parsed.rows[rtype].append(row)
        parsed.lines[rtype].append(line)
        for fieldname, values in links.items():
            parsed.links[rtype][fieldname].append(values)
    if not header_seen:
        raise Invalid("the file is empty: expected a lessonloop export", field="file")
    return parsed


def _check(parsed: _Parsed) -> None:
    """Unique fields and references, each refusal naming the line at fault."""
    ids: dict[str, set[int]] = {}
    for kind in KINDS:
        rows, lines = parsed.rows[kind.name], parsed.lines[kind.name]
        for columns in _unique_sets(kind.table):
            seen: set[tuple[Any, ...]] = set()
            for row, line in zip(rows, lines, strict=True):
                key = tuple(row[c] for c in columns)
                if any(v is None for v in key):
                    continue
                if kind.name == "team" and columns == ("name",):
                    key = (str(key[0]).lower(),)  # team names are unique ignoring case
                if key in seen:
                    raise LineError(line, f"repeats another {kind.name}'s value", field=columns[-1])
                seen.add(key)
        ids[kind.name] = {row["id"] for row in rows}
    for kind in KINDS:
        rows, lines = parsed.rows[kind.name], parsed.lines[kind.name]
        refs = [
            (column.name, BY_TABLE[fk.column.table.name].name)
            for column in kind.table.columns
            for fk in column.foreign_keys
            if fk.column.table.name in BY_TABLE  # else the database checks it
        ]
        for row, line in zip(rows, lines, strict=True):
            for name, target in refs:
                if row[name] is not None and row[name] not in ids[target]:
                    raise LineError(
                        line, f"refers to {target} {row[name]}, which is not in the file", field=name
                    )
        for link in kind.links:
            if link.ref is None:
                continue
            for values, line in zip(parsed.links[kind.name][link.field], lines, strict=True):
                for value in values:
                    if value not in ids[link.ref]:
                        raise LineError(
                            line, f"refers to {link.ref} {value}, which is not in the file", field=link.field
                        )


def _unique_sets(table: Table) -> list[tuple[str, ...]]:
    """Column sets whose values must be unique; the primary key first, so a repeated id is
    reported as such."""
    sets: list[tuple[str, ...]] = [tuple(c.name for c in table.primary_key.columns)]
    sets += [(c.name,) for c in table.columns if c.unique and not c.primary_key]
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint):
            names = tuple(c.name for c in constraint.columns)
            if names and names not in sets:
                sets.append(names)
    return sets


def import_native(
    session: Session, stream: Iterable[bytes], *, progress: Progress | None = None, viewer: Actor
) -> ImportResult:
    """Restore an export into an empty database, ids and history included."""
    require_actor(viewer)
    busy = nonempty_tables(session, everything=True)
    if busy:
        raise Conflict(
            "the database is not empty (" + ", ".join(busy) + "); a native import restores a whole "
            "workspace into an empty database: point --database-url at a new one",
            field="database",
        )
    loader = BulkLoader(session, actor=None)
    parsed = _parse(stream, progress, loader.now)
    _check(parsed)
    try:
        for kind in KINDS:
            rows = parsed.rows[kind.name]
            inserted = [{**row, **dict.fromkeys(kind.deferred)} for row in rows] if kind.deferred else rows
            extras = None
            if kind.name == "failure":
                extras = [{"labels": labels} for labels in parsed.links["failure"]["labels"]]
            if kind.model is not None:
                loader.add(kind.model, inserted, extras=extras)
            else:
                loader.link(kind.table, inserted)
            for link in kind.links:
                link_rows = [
                    {link.own: row["id"], link.other: value}
                    for row, values in zip(rows, parsed.links[kind.name][link.field], strict=True)
                    for value in values
                ]
                loader.link(link.table, link_rows)
            for column in kind.deferred:
                table = kind.table
                # Columns with an onupdate default (updated_at) keep the file's value.
                keep = [c.name for c in table.columns if c.onupdate is not None]
                later = [
                    {"b_id": r["id"], "b_value": r[column], **{f"b_{k}": r[k] for k in keep}}
                    for r in rows
                    if r[column] is not None
                ]
                if later:
                    values: dict[str, Any] = {
                        column: bindparam("b_value"),
                        **{k: bindparam(f"b_{k}") for k in keep},
                    }
                    loader.conn.execute(
                        update(table).where(table.c.id == bindparam("b_id")).values(values), later
                    )
        loader.restore_sequences([kind.table for kind in KINDS])
    except (IntegrityError, DataError) as exc:  # the checks above should leave nothing to this
        first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise Invalid(f"the file breaks a database rule: {first}", field="file") from None
    by_type = {name: n for name, n in ((k.name, len(parsed.rows[k.name])) for k in KINDS) if n}
    return ImportResult(format=FORMAT, created=sum(by_type.values()), skipped=0, by_type=by_type)
