"""The failure list as plain rows: what ``GET /api/v1/failures`` answers, without the ORM (decision 53).

:func:`lessonloop.failures.service.list_failures` gives the same page as ORM objects (the web
pages and the CLI render those). Building 50 of them with their team, reporter, people and
labels, then validating each into a :class:`~lessonloop.failures.schemas.FailureOut`, cost
~10 ms of server CPU per page at 100k failures, twenty times a whole bare request. Here the
page is **one statement** read as tuples: the list's filters and the visibility rule, newest
first, limit and offset, with each failure's people and labels aggregated as JSON in SQL. Each
row becomes a dict of exactly ``FailureOut``'s fields in its order, which the API writes as JSON
as it is (``api.common.page_json``). The total is the one ``list_failures`` gives
(``store.crud.paginate``'s rule; unfiltered, the kept per-group counts of ``failures/counts.py``).

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
import json
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    String,
    TypeDecorator,
    bindparam,
    func,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from lessonloop.access.actor import Actor, is_system, require_actor
from lessonloop.access.policy import visible_failures_clause
from lessonloop.access.viewer import RuleKey, Viewer
from lessonloop.coerce import as_datetime, as_enum
from lessonloop.failures.counts import visible_failure_total
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


class _UTCRead(TypeDecorator[dt.datetime]):
    """Read a ``UTCDateTime`` column as that type gives it (aware UTC), parsing SQLite's text
    with ``datetime.fromisoformat`` (C) rather than SQLAlchemy's regular expression: a page has
    ~200 of them. PostgreSQL's driver gives a datetime already."""

    impl = String
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        return value.replace(tzinfo=dt.UTC)


class _JSONRead(TypeDecorator[Any]):
    """A JSON array made in SQL: text on SQLite, already decoded by PostgreSQL's driver."""

    impl = String
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return json.loads(value) if isinstance(value, str) else value


def _read_as(column: Any) -> Any:
    return type_coerce(column, _UTCRead()) if isinstance(column.type, UTCDateTime) else column


_COLUMNS = [_read_as(getattr(Failure, name)) for name in (*_HEAD, *_TAIL)]
_IMPACT = (*_HEAD, *_TAIL).index("impact_value")
_PERSON_FIELDS = list(PersonOut.model_fields)

_LIMIT = bindparam("page_limit", type_=Integer)
_OFFSET = bindparam("page_offset", type_=Integer)

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
    if dialect == "postgresql":
        person = func.json_build_object(*person_fields)
        people = func.json_agg(aggregate_order_by(person, Person.id))
        labels = func.json_agg(aggregate_order_by(FailureLabel.label, FailureLabel.label))
        empty: Any = literal_column("'[]'::json")
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


@functools.lru_cache(maxsize=512)
def _statements(dialect: str, rule: RuleKey | None, filters: Filters) -> tuple[Select[Any], Select[Any]]:
    """The ids of every failure ``rule`` may see (``None``: a system job, every failure) that
    passes the filters, newest first; and the page of them as ``FailureOut``'s columns, people
    and labels (limit and offset left as parameters). Kept: see the module docstring.

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
    paged = (
        select(*_COLUMNS, people, labels)
        .join_from(Failure, page, page.c.id == Failure.id)
        .order_by(Failure.detected_at.desc(), Failure.id.desc())
    )
    return every, paged


def _item(row: Any, sort: bool) -> dict[str, Any]:
    values = list(row)
    labels: list[str] = values.pop()
    people: list[dict[str, Any]] = values.pop()
    if sort:
        people.sort(key=lambda person: person["id"])
        labels.sort()
    if values[_IMPACT] is not None:  # as FailureOut's float field gives it (an integral REAL too)
        values[_IMPACT] = float(values[_IMPACT])
    item = dict(zip(_HEAD, values, strict=False))
    item["people"] = people
    item["labels"] = labels
    item.update(zip(_TAIL, values[len(_HEAD) :], strict=True))
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
    every, paged = _statements(dialect, None if is_system(viewer) else viewer.rule_key(), filters)
    connection = session.connection()  # Core rows: no ORM execution step for plain columns

    def fetch(limit: int, offset: int) -> list[Any]:
        return list(connection.execute(paged, {"page_limit": limit, "page_offset": offset}))

    def count() -> int:
        # Unfiltered or of one status only: a sum of kept counts (failures/counts.py, decision 56);
        # the status as failure_query filtered on it (it has checked it).
        if all(f is None for i, f in enumerate(filters) if i != 1):
            status_value = as_enum(filters[1], FailureStatus, "status").value if filters[1] else None
            return visible_failure_total(session, status=status_value, viewer=viewer)
        return int(connection.scalar(select(func.count()).select_from(every.order_by(None).subquery())) or 0)

    rows = paginate(session, every, page, page_size, count=count, fetch=fetch)
    sort = dialect != "postgresql"
    return Page(
        items=[_item(row, sort) for row in rows.items],
        total=rows.total,
        page=rows.page,
        page_size=rows.page_size,
    )
