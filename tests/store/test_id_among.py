"""``store.crud.id_among``: "id is one of these" as one parameter on both databases (decisions
66, 67), however many ids, and the chunked readers built on it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from lessonloop.failures.models import Failure
from lessonloop.store import crud
from tests.factories import failure


@pytest.fixture
def statements(session: Session) -> Iterator[list[Any]]:
    """The parameters of every statement sent while the test runs."""
    seen: list[Any] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        seen.append(params)

    bind = session.get_bind()
    event.listen(bind, "before_cursor_execute", record)
    yield seen
    event.remove(bind, "before_cursor_execute", record)


def test_thousands_of_ids_are_one_statement_with_one_parameter(
    session: Session, statements: list[Any]
) -> None:
    made = [failure(session, title=f"F{n}").id for n in range(3)]
    # 20,000 ids, most naming nothing: 23 statements of 900 parameters before decision 67 on
    # SQLite; now one statement with one parameter on both, and what it finds is what exists.
    wanted = [made[0], made[2], *range(10**6, 10**6 + 19_998)]
    session.flush()
    statements.clear()
    found = crud.scalars_in(session, lambda among: select(Failure.id).where(among(Failure.id)), wanted)
    assert sorted(found) == [made[0], made[2]]
    assert len(statements) == 1
    params = statements[0]
    assert len(params) == 1  # one array (PostgreSQL) or one JSON text (SQLite)


@pytest.mark.parametrize("size", [1, 2, 7])
def test_chunks_read_the_same_rows_as_one_statement(
    session: Session, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    made = [failure(session, title=f"F{n}").id for n in range(5)]
    monkeypatch.setattr(crud, "ARRAY_SIZE", size)
    rows = crud.rows_in(
        session, lambda among: select(Failure.id, Failure.title).where(among(Failure.id)), made[::-1]
    )
    assert sorted(rows) == sorted((fid, f"F{n}") for n, fid in enumerate(made))


def test_no_ids_is_no_statement(session: Session, statements: list[Any]) -> None:
    assert crud.scalars_in(session, lambda among: select(Failure.id).where(among(Failure.id)), []) == []
    assert statements == []
