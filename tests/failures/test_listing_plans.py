"""The list's page statement on PostgreSQL is planned once per connection, not once per page read.

With its limit and offset as parameters PostgreSQL kept a custom plan for the prepared page
statement and planned it again on every execution (a generic plan's ``LIMIT $n`` is costed far
above any custom plan): ~0.6 ms of its ~1.2 ms per page at 100k. The numbers are now written into
the statement's text (decision 70), so after psycopg prepares it (five runs on one connection)
PostgreSQL settles on a generic plan after five custom ones.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, text

from lessonloop.failures.listing import _inline_int, list_failure_rows
from lessonloop.store.engine import Database
from tests.factories import SYSTEM, failure


def _statements(db: Database) -> tuple[list[tuple[str, Any]], Any]:
    seen: list[tuple[str, Any]] = []

    def listen(_conn: Any, _cursor: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        seen.append((statement, params))

    event.listen(db.engine, "before_cursor_execute", listen)
    return seen, listen


def test_the_page_statement_settles_on_a_generic_plan(pg_db: Database) -> None:
    with pg_db.unit(actor="tester") as session:
        for n in range(12):
            failure(session, title=f"Deploy {n} missed the window")
    with pg_db.unit(actor="tester") as session:  # one connection: psycopg prepares per connection
        pages = [list_failure_rows(session, page=2, page_size=5, viewer=SYSTEM) for _ in range(15)]
        plans = session.execute(
            text(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                "WHERE statement LIKE '%LIMIT 5 OFFSET 5%'"
            )
        ).all()
    assert all(p.items == pages[0].items for p in pages) and len(pages[0].items) == 5
    assert len(plans) == 1, plans  # one prepared statement for this page
    generic, custom = plans[0]
    assert generic >= 1, f"PostgreSQL re-plans the page every time ({custom} custom plans, no generic)"


def test_the_limit_and_offset_are_numbers_in_the_text_on_postgresql(pg_db: Database) -> None:
    with pg_db.unit(actor="tester") as session:
        for n in range(7):
            failure(session, title=f"Hand-off {n} lost the context")
    seen, listen = _statements(pg_db)
    try:
        with pg_db.unit(actor="tester") as session:
            page = list_failure_rows(session, page=3, page_size=3, viewer=SYSTEM)
    finally:
        event.remove(pg_db.engine, "before_cursor_execute", listen)
    assert [item["title"] for item in page.items] == ["Hand-off 0 lost the context"]
    page_sql = [(sql, params) for sql, params in seen if "LIMIT" in sql]
    assert len(page_sql) == 1
    sql, params = page_sql[0]
    assert "LIMIT 3 OFFSET 6" in sql and "page_limit" not in sql and "page_offset" not in sql
    assert "page_limit" not in params and "page_offset" not in params


def test_a_far_page_on_both_backends_is_empty_not_an_error(db: Database) -> None:
    with db.unit(actor="tester") as session:
        failure(session)
    with db.unit(actor="tester") as session:
        page = list_failure_rows(session, page=99_999_999_999, page_size=50, viewer=SYSTEM)
    assert page.items == [] and page.total == 1


@pytest.mark.parametrize("value", [True, "5", 5.0, "1; DROP TABLE failures"])
def test_only_an_int_is_written_into_the_sql(value: Any) -> None:
    with pytest.raises(TypeError):
        _inline_int(value)
    assert _inline_int(5) == "5" and _inline_int(2**62) == str(2**62)
