"""One generic helper for get / update / page instead of a copy per concept."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Executable, Select, func, select
from sqlalchemy.orm import Session

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


def scalars_in(
    session: Session, statement_for: Callable[[list[Any]], Executable], values: Sequence[Any]
) -> list[Any]:
    """The scalars of ``statement_for(chunk)`` for each :func:`in_chunks` of ``values``: one
    statement per chunk, the results in chunk order."""
    found: list[Any] = []
    for chunk in in_chunks(values):
        found += session.scalars(statement_for(chunk))
    return found


def rows_in(
    session: Session, statement_for: Callable[[list[Any]], Executable], values: Sequence[Any]
) -> list[Any]:
    """:func:`scalars_in` for statements of several columns: their rows."""
    found: list[Any] = []
    for chunk in in_chunks(values):
        found += session.execute(statement_for(chunk)).all()
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
