"""The failure list as plain rows: what ``GET /api/v1/failures`` answers, without the ORM (decision 53).

:func:`lessonloop.failures.service.list_failures` gives the same page as ORM objects (the web
pages and the CLI render those). Building 50 of them with their team, reporter, people and
labels, then validating each into a :class:`~lessonloop.failures.schemas.FailureOut`, cost
~10 ms of server CPU per page at 100k failures, twenty times a whole bare request. Here the
page is **one statement** read as tuples: the list's filters and the visibility rule, newest
first, limit and offset, with each failure's people and labels aggregated as JSON in SQL, and
(unfiltered or by status) the total as one more column. Each row becomes a dict of exactly
``FailureOut``'s fields in its order, which the API writes as JSON as it is
(``api.common.page_json``). The total is the one ``list_failures`` gives (``store.crud.paginate``'s
rule; unfiltered, the kept per-group counts of ``failures/counts.py``). The statement is run as
the driver's SQL and parameters made once (:class:`_DriverPage`, decision 62).

The statement is built once per database dialect, viewer rule key
(:meth:`~lessonloop.access.viewer.Viewer.rule_key`) and filter values, and kept: building the
visibility clause and SQLAlchemy's cache key for a fresh statement cost more than running it.
Two viewers with the same key see the same failures, and the statement is built for the viewer
the key stands for, so a kept statement is never used for anyone it was not built for.

``tests/failures/test_listing.py`` checks, on both backends, that this answers the same JSON as
``FailureOut`` over ``list_failures``' ORM objects for viewers of every kind and every filter.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic_core import from_json
from sqlalchemy import (
    BigInteger,
    Select,
    String,
    Text,
    TypeDecorator,
    bindparam,
    cast,
    func,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from lessonloop.access.actor import Actor, is_system, require_actor
from lessonloop.access.policy import visible_failures_clause
from lessonloop.access.viewer import RuleKey, Viewer
from lessonloop.coerce import as_datetime, as_enum
from lessonloop.failures.counts import total_statement, visible_failure_total
from lessonloop.failures.models import Failure, FailureLabel, FailureStatus, failure_people
from lessonloop.failures.schemas import FailureOut
from lessonloop.failures.service import failure_query
from lessonloop.people.models import Person
from lessonloop.people.schemas import PersonOut
from lessonloop.people.service import TeamRef, get_team
from lessonloop.store.base import UTCDateTime
from lessonloop.store.crud import Page, paginate

#: ``FailureOut``'s fields in its order; ``people`` and ``labels`` come from their own tables.
_FIELDS = list(FailureOut.model_fields)
_NESTED = ["people", "labels"]
_HEAD = _FIELDS[: _FIELDS.index(_NESTED[0])]
_TAIL = _FIELDS[len(_HEAD) + len(_NESTED) :]
assert [*_HEAD, *_NESTED, *_TAIL] == _FIELDS, "FailureOut's people and labels must be adjacent"


class _UTCRead(TypeDecorator[Any]):
    """A ``UTCDateTime`` column as the answer's JSON will hold it.

    The string pydantic writes for the aware UTC time (``2026-03-01T09:30:00Z``, the
    microseconds only when there are some): SQLite's text as ``UTCDateTime`` stores it
    (``2026-03-01 09:30:00.000000``) cut and joined without making a datetime, PostgreSQL's
    naive UTC datetime by ``isoformat`` (the same rule for the microseconds). A page has ~150
    of them; making aware datetimes for pydantic to write was a tenth of the list's CPU
    (decision 69). Other text is parsed with ``datetime.fromisoformat`` first.
    """

    impl = String
    cache_ok = True

    @staticmethod
    def read(value: Any) -> str | None:  # what _DriverPage calls, without the wrapper
        if value is None:
            return None
        if isinstance(value, str):
            if len(value) == 26 and value[10] == " " and value[19] == ".":
                return f"{value[:10]}T{value[11:19] if value.endswith('000000') else value[11:]}Z"
            value = dt.datetime.fromisoformat(value)
        if value.tzinfo is not None:  # stored naive UTC (UTCDateTime); an aware one, to be sure
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return f"{value.isoformat()}Z"

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return self.read(value)


class _JSONRead(TypeDecorator[Any]):
    """A JSON array made in SQL, read as text on both databases (:func:`_nested_json`)."""

    impl = String
    cache_ok = True

    @staticmethod
    def read(value: Any) -> Any:  # pydantic_core's parser: 3-6 times json.loads' speed here
        return from_json(value) if isinstance(value, str) else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return self.read(value)


def _read_as(column: Any) -> Any:
    return type_coerce(column, _UTCRead()) if isinstance(column.type, UTCDateTime) else column


_HEAD_COLUMNS = [_read_as(getattr(Failure, name)) for name in _HEAD]
_TAIL_COLUMNS = [_read_as(getattr(Failure, name)) for name in _TAIL]
_BY_ID = operator.itemgetter("id")
_PERSON_FIELDS = list(PersonOut.model_fields)

# BigInteger: a far page's offset passes 2**31 (page 50,000,000 of 50), and PostgreSQL refused
# the INTEGER cast with a 500; paginate asks for offsets up to its MAX_OFFSET (2**62).
_LIMIT = bindparam("page_limit", type_=BigInteger)
_OFFSET = bindparam("page_offset", type_=BigInteger)

#: Filters in the order they are kept: team id, status, kind, severity, label, since, until.
Filters = tuple[
    int | None, str | None, str | None, str | None, str | None, dt.datetime | None, dt.datetime | None
]


def _nested_json(dialect: str, failure_id: Any) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """The people (``PersonOut``'s fields, by id) and the labels (by the database's collation)
    of the failure ``failure_id``, each a JSON array; ``[]`` when there are none.

    PostgreSQL orders inside the aggregate. SQLite before 3.44 cannot, so there the arrays come
    unordered and :func:`_item` sorts them: people by id, labels by code point, which is the
    order of SQLite's default ``BINARY`` collation on UTF-8 text (the ORM's ``ORDER BY label``).
    """
    fp = failure_people.alias()
    person_fields: list[Any] = []
    for name in _PERSON_FIELDS:
        person_fields += [literal_column(f"'{name}'"), getattr(Person, name)]
    people: ColumnElement[Any]
    labels: ColumnElement[Any]
    if dialect == "postgresql":
        person = func.json_build_object(*person_fields)
        people = func.json_agg(aggregate_order_by(person, Person.id))
        labels = func.json_agg(aggregate_order_by(FailureLabel.label, FailureLabel.label))
        # As text: psycopg would decode it with json.loads; _JSONRead's parser is 3-6x faster.
        people, labels = (cast(agg, Text) for agg in (people, labels))
        empty: Any = literal_column("'[]'")
    else:
        person = func.json_object(*person_fields)
        people = func.json_group_array(person)
        labels = func.json_group_array(FailureLabel.label)
        empty = literal_column("'[]'")
    people_sql = (
        select(func.coalesce(people, empty))
        .select_from(fp.join(Person, Person.id == fp.c.person_id))
        .where(fp.c.failure_id == failure_id)
        .scalar_subquery()
    )
    labels_sql = (
        select(func.coalesce(labels, empty)).where(FailureLabel.failure_id == failure_id).scalar_subquery()
    )
    return type_coerce(people_sql, _JSONRead()), type_coerce(labels_sql, _JSONRead())


def _kept_total(filters: Filters) -> bool:
    """Unfiltered or of one status only: the total is a sum of kept counts (failures/counts.py,
    decision 56); other filters count the failures they match."""
    return all(f is None for i, f in enumerate(filters) if i != 1)


@functools.lru_cache(maxsize=512)
def _statements(dialect: str, rule: RuleKey | None, filters: Filters) -> tuple[Select[Any], Select[Any]]:
    """The ids of every failure ``rule`` may see (``None``: a system job, every failure) that
    passes the filters, newest first; and the page of them as ``FailureOut``'s columns, people
    and labels (limit and offset left as parameters), and, when the total is a sum of kept
    counts, that total as a last column: a full page needs it, and one statement is one round
    trip instead of three (decision 62). Kept: see the module docstring.

    The page's ids are found first, on their own: unfiltered, off ``ix_failures_list_cover``
    alone (the list's order and the visibility rule's columns, migration 0025), and only those
    50 failures' wide rows are read. Reading each skipped row to check its visibility made page
    20 cost four times page 1 on SQLite.
    """
    team_id, status, kind, severity, label, since, until = filters
    every = failure_query(
        team_id=team_id, status=status, kind=kind, severity=severity, label=label, since=since, until=until
    ).with_only_columns(Failure.id)
    if rule is not None:
        every = every.where(visible_failures_clause(Viewer.from_rule_key(rule)))
    page = every.limit(_LIMIT).offset(_OFFSET).subquery("page")
    people, labels = _nested_json(dialect, Failure.id)
    total: list[Any] = []
    if _kept_total(filters):  # failure_query has checked the status
        status_value = as_enum(status, FailureStatus, "status").value if status else None
        total = [total_statement(rule, status_value).scalar_subquery()]  # run once, not per row
    paged = (
        select(*_HEAD_COLUMNS, people, labels, *_TAIL_COLUMNS, *total)  # FailureOut's order
        .join_from(Failure, page, page.c.id == Failure.id)
        .order_by(Failure.detected_at.desc(), Failure.id.desc())
    )
    return every, paged


@dataclass(frozen=True)
class _DriverPage:
    """A kept page statement as the driver runs it: SQL text and parameters made once.

    Through ``Connection.execute`` SQLAlchemy makes its cache key, expands the visibility
    rule's ``IN`` lists into the SQL, processes every parameter and then every value of the
    50 rows, each time: half the CPU of reading a page (0.38 of 0.74 ms at 100k on SQLite,
    decision 62). Here its compiler does the first three once (``construct_expanded_state``:
    the same SQL and parameters it would send), the limit and offset are put in their places
    per page, and only the columns whose type processes results (the times, the JSON arrays)
    are processed, by the same processors. ``exec_driver_sql`` still goes through the engine's
    events (SQLite's write lock rule, the statement counter).

    On PostgreSQL the limit and offset are written into the SQL as numbers (``slots`` are then
    the placeholders' text). With them as parameters, PostgreSQL never settled on a generic
    plan for the prepared page statement (a generic plan's ``LIMIT $n`` is costed as a tenth of
    the rows, far above any custom plan's), so it planned the statement again on every
    execution: ~0.6 ms of its ~1.2 ms per page at 100k (decision 70). With the numbers in the
    text each page gets its own prepared statement, planned generically after five runs like
    the others. Only ``int`` values are ever written (:func:`_inline_int`).
    """

    sql: str
    params: tuple[Any, ...] | dict[str, Any]
    slots: tuple[Any, Any]  # where the limit and the offset go: positions, names or placeholders
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]
    inline: bool = False

    def rows(self, connection: Connection, limit: int, offset: int) -> list[list[Any]]:
        params: Any
        sql = self.sql
        if self.inline:
            sql = sql.replace(self.slots[0], _inline_int(limit)).replace(self.slots[1], _inline_int(offset))
            params = self.params
        elif isinstance(self.params, dict):
            params = {**self.params, self.slots[0]: limit, self.slots[1]: offset}
        else:
            params = list(self.params)
            params[self.slots[0]], params[self.slots[1]] = limit, offset
            params = tuple(params)
        rows = []
        for row in connection.exec_driver_sql(sql, params).fetchall():  # one driver call
            values = list(row)
            for i, process in self.processors:
                values[i] = process(values[i])
            rows.append(values)
        return rows


@functools.lru_cache(maxsize=512)
def _driver_page(dialect: Dialect, rule: RuleKey | None, filters: Filters) -> _DriverPage:
    """:class:`_DriverPage` for :func:`_statements`' page, kept like it (per dialect object:
    the SQL is that dialect's)."""
    paged = _statements(dialect.name, rule, filters)[1]
    state = paged.compile(dialect=dialect).construct_expanded_state({"page_limit": 0, "page_offset": 0})
    if {"page_limit", "page_offset"} & set(state.processors):  # plain integers: never, so far
        raise TypeError("the page's limit and offset need processing: run it through execute()")
    values = {
        name: state.processors[name](value) if name in state.processors else value
        for name, value in state.parameters.items()
    }
    params: tuple[Any, ...] | dict[str, Any]
    slots: tuple[Any, Any]
    sql, inline = state.statement, False
    if state.positiontup is None:  # named (psycopg): the numbers go into the text (see _DriverPage)
        slots = (_placeholder(sql, "page_limit"), _placeholder(sql, "page_offset"))
        params = {name: value for name, value in values.items() if name not in ("page_limit", "page_offset")}
        inline = True
    else:  # positional (SQLite): each appears once, in the page's subquery
        order = list(state.positiontup)
        if order.count("page_limit") != 1 or order.count("page_offset") != 1:
            raise TypeError("the page's limit and offset must appear once each")
        params, slots = (
            tuple(values[name] for name in order),
            (order.index("page_limit"), order.index("page_offset")),
        )
    processors = []
    for i, column in enumerate(paged.selected_columns):
        process = getattr(column.type, "read", None) or column.type.result_processor(dialect, None)
        if process is not None:
            processors.append((i, process))
    return _DriverPage(sql, params, slots, tuple(processors), inline)


def _placeholder(sql: str, name: str) -> str:
    """The text of the one named placeholder ``name`` in ``sql``, with its cast if it has one."""
    found = re.findall(rf"%\({name}\)s(?:::[A-Z]+)?", sql)
    if len(found) != 1 or sql.count(f"%({name})s") != 1:
        raise TypeError(f"the page's {name} must appear once: {len(found)} found")
    return str(found[0])


def _inline_int(value: int) -> str:
    """An ``int`` as SQL text: a number and nothing else (a ``bool`` or a string is refused)."""
    if type(value) is not int:
        raise TypeError(f"a page's limit and offset are int, not {type(value).__name__}")
    return str(value)


def _item(values: list[Any], sort: bool) -> dict[str, Any]:
    item = dict(zip(_FIELDS, values, strict=False))  # the columns are in its order; not the total
    if sort:
        item["people"].sort(key=_BY_ID)
        item["labels"].sort()
    if item["impact_value"] is not None:  # as FailureOut's float field gives it (an integral REAL too)
        item["impact_value"] = float(item["impact_value"])
    return item


def list_failure_rows(
    session: Session,
    *,
    team: TeamRef | None = None,
    status: str | None = None,
    kind: str | None = None,
    severity: str | None = None,
    label: str | None = None,
    since: Any = None,
    until: Any = None,
    page: int = 1,
    page_size: int = 50,
    viewer: Actor,
) -> Page[dict[str, Any]]:
    """:func:`~lessonloop.failures.service.list_failures` as dicts of ``FailureOut``'s fields:
    the same failures, order and total, for the same ``viewer`` (required; a system job sees all)."""
    require_actor(viewer)
    filters: Filters = (
        get_team(session, team, viewer=viewer).id if team not in (None, "") else None,
        status or None,
        kind or None,
        severity or None,
        label or None,
        as_datetime(since, "since") if since not in (None, "") else None,
        as_datetime(until, "until") if until not in (None, "") else None,
    )
    dialect = session.get_bind().dialect.name
    rule = None if is_system(viewer) else viewer.rule_key()
    every = _statements(dialect, rule, filters)[0]
    connection = session.connection()  # Core rows: no ORM execution step for plain columns
    kept = _kept_total(filters)

    def count() -> int:
        if kept and rows_read:  # the page's rows carry it
            return int(rows_read[0][-1])
        if kept:  # past the end: the same sum on its own
            status_value = as_enum(filters[1], FailureStatus, "status").value if filters[1] else None
            return visible_failure_total(session, status=status_value, viewer=viewer)
        return int(connection.scalar(select(func.count()).select_from(every.order_by(None).subquery())) or 0)

    rows_read: list[list[Any]] = []
    driver = _driver_page(session.get_bind().dialect, rule, filters)

    def fetch(limit: int, offset: int) -> list[Any]:
        rows_read.extend(driver.rows(connection, limit, offset))
        return rows_read

    rows = paginate(session, every, page, page_size, count=count, fetch=fetch)
    sort = dialect != "postgresql"
    return Page(
        items=[_item(row, sort) for row in rows.items],
        total=rows.total,
        page=rows.page,
        page_size=rows.page_size,
    )
