"""One generic helper for get / update / page instead of a copy per concept."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Executable,
    Integer,
    Select,
    String,
    any_,
    bindparam,
    func,
    select,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.operators import ColumnOperators

from lessonloop.errors import Invalid, NotFound

T = TypeVar("T")

#: Ids are ``INTEGER`` columns: 32-bit on PostgreSQL. A number outside 1..MAX_ID names no record
#: (and must never reach the driver, which would refuse to convert it: an error, not a 404).
MAX_ID = 2**31 - 1

#: No table here holds anywhere near this many rows; a larger offset is answered with an empty
#: page without asking the database (whose drivers refuse integers past 64 bits).
MAX_OFFSET = 2**62


#: How many values one ``IN (...)`` list carries: well under SQLite's bound-parameter limit
#: (32,766; 999 before 3.32) and PostgreSQL's 65,535, with room for the statement's other
#: parameters. A list of ids built from data (a pattern's failures, an escalation's) can be
#: longer than either limit: at 1M failures one cause label had 70,000 in a window, and the
#: escalations job failed on it every day (decision 65).
IN_LIST_SIZE = 900


def in_chunks(values: Iterable[T], size: int | None = None) -> Iterator[list[T]]:
    """``values`` in lists of at most ``size`` (default :data:`IN_LIST_SIZE`), in order."""
    size = size or IN_LIST_SIZE
    chunk: list[T] = []
    for value in values:
        chunk.append(value)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


#: An id column: a table's ``Column`` or a mapped class's attribute.
IdColumn = ColumnOperators

#: How many ids one array parameter carries (:func:`id_among`): one parameter however many ids,
#: so the limit is the statement's size, not the driver's parameter count.
ARRAY_SIZE = 50_000


def id_among(session: Session, column: IdColumn, ids: Sequence[int]) -> ColumnElement[bool]:
    """``column IN ids`` for at most :func:`ids_per_statement` ids, as **one** parameter: on
    PostgreSQL ``= ANY`` of an integer array, on SQLite ``IN`` the values of ``json_each`` over
    a JSON array. A list of 900 parameters costs PostgreSQL about 4 ms to bind and plan
    (decision 66: 28 of them were 100 ms of one page); on SQLite the 28 statements that 25,000
    ids took, each compiled and bound, were most of a member's insights page (decision 67).
    Either form is planned once, whatever its length."""
    values = [int(i) for i in ids]
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(Integer)))
    each = func.json_each(bindparam(None, json.dumps(values), type_=String)).table_valued("value")
    return cast(ColumnElement[bool], column.in_(select(each.c.value)))


def ids_per_statement(session: Session) -> int:
    """How many ids :func:`id_among` takes in one statement (the same on every database now)."""
    return ARRAY_SIZE


#: What :func:`scalars_in` and :func:`rows_in` hand a statement: ``among(column)`` is the
#: condition "column is one of this chunk's ids" (:func:`id_among`).
Among = Callable[[IdColumn], ColumnElement[bool]]


def _chunks(session: Session, values: Sequence[Any]) -> Iterator[Among]:
    for chunk in in_chunks(values, ids_per_statement(session)):
        yield partial(id_among, session, ids=chunk)


def scalars_in(
    session: Session, statement_for: Callable[[Among], Executable], values: Sequence[Any]
) -> list[Any]:
    """The scalars of ``statement_for(among)`` for each chunk of ``values``: one statement per
    chunk (:func:`ids_per_statement`), the results in chunk order. ``among(column)`` is the
    chunk's condition, so the caller never builds an ``IN`` list the driver could refuse."""
    found: list[Any] = []
    for among in _chunks(session, values):
        found += session.scalars(statement_for(among))
    return found


def rows_in(
    session: Session, statement_for: Callable[[Among], Executable], values: Sequence[Any]
) -> list[Any]:
    """:func:`scalars_in` for statements of several columns: their rows."""
    found: list[Any] = []
    for among in _chunks(session, values):
        found += session.execute(statement_for(among)).all()
    return found


def id_in_range(value: int) -> bool:
    return 1 <= value <= MAX_ID


def get_or_404(session: Session, model: type[T], record_id: int | str) -> T:
    label = getattr(model, "__record_type__", model.__name__.lower())
    try:
        rid = int(record_id)
    except (TypeError, ValueError):
        raise Invalid(f"{label} id must be a number, got {record_id!r}", field="id") from None
    obj = session.get(model, rid) if id_in_range(rid) else None
    if obj is None:
        raise NotFound(f"no {label} with id {rid}", field=f"{label}_id")
    return obj


def apply_changes(obj: Any, changes: Mapping[str, Any], allowed: frozenset[str]) -> None:
    """Set fields; the history hook records old → new on flush."""
    for key, value in changes.items():
        if key not in allowed:
            raise Invalid(f"field cannot be changed here: {key}", field=key)
        setattr(obj, key, value)


@dataclass
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def paginate(
    session: Session,
    stmt: Select[Any],
    page: int,
    page_size: int,
    max_size: int = 500,
    *,
    count: Callable[[], int] | None = None,
    fetch: Callable[[int, int], list[Any]] | None = None,
) -> Page[Any]:
    """A page of ``stmt`` and the exact total; ``count``, when given, computes that total more
    cheaply than counting ``stmt``'s rows (it must agree with them). ``fetch(limit, offset)``,
    when given, reads the page's rows instead of ``stmt`` limited and offset (a kept statement
    with the two as parameters: ``failures/listing.py``)."""
    if page < 1:
        raise Invalid("page must be 1 or more", field="page")
    if not 1 <= page_size <= max_size:
        raise Invalid(f"page_size must be between 1 and {max_size}", field="page_size")
    offset = (page - 1) * page_size
    # The page first: when it is short (and not past the end), it ends the list and gives the
    # total without a count. A page past any possible row is not even asked for (the offset
    # would overflow the driver's 64-bit integer).
    if offset > MAX_OFFSET:
        items: list[Any] = []
    elif fetch is not None:
        items = fetch(page_size, offset)
    else:
        items = list(session.scalars(stmt.limit(page_size).offset(offset)))
    if len(items) < page_size and (items or offset == 0):
        total = offset + len(items)
    else:
        total = (
            count()
            if count is not None
            else session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
        )
    return Page(items=items, total=int(total), page=page, page_size=page_size)
