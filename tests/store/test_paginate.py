"""paginate: the total is right whether it comes from a short page or from a count."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from lessonloop.failures.models import Failure
from lessonloop.store.crud import paginate
from tests.factories import failure


@pytest.mark.parametrize(
    ("page", "page_size", "items", "total", "counted"),
    [
        (1, 10, 7, 7, False),  # a short first page is the whole list
        (1, 7, 7, 7, True),  # a full page: there may be more
        (2, 5, 2, 7, False),  # a short last page ends the list
        (2, 7, 0, 7, True),  # past the end: counted
        (3, 5, 0, 7, True),
        (10**18, 50, 0, 7, True),  # far past any row: not even asked for
    ],
)
def test_total_with_and_without_a_count(
    session: Session, page: int, page_size: int, items: int, total: int, counted: bool
) -> None:
    for n in range(7):
        failure(session, title=f"Failure {n}")
    statements: list[str] = []

    def seen(_c: object, _cursor: object, statement: str, *_a: object) -> None:
        statements.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", seen)
    try:
        result = paginate(session, select(Failure).order_by(Failure.id), page, page_size)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert (len(result.items), result.total) == (items, total)
    assert any("count(" in s.lower() for s in statements) == counted


def test_an_empty_list_needs_no_count(session: Session) -> None:
    result = paginate(session, select(Failure).order_by(Failure.id), 1, 50)
    assert (result.items, result.total, result.pages) == ([], 0, 1)
