"""The similar-failures statements keep a good plan when PostgreSQL plans them generically.

psycopg prepares a statement run five times on one connection, and PostgreSQL may then use one
generic plan for every later run, planned without the parameters' values. With the document-id
range as parameters, that plan read the range by document id and checked each vector: 1.2 s
at 1M failures for the count of a few rare words (decision 73). The range is now written into
the statement, so even a generic plan knows it spans the documents and looks the words up in
the full-text index.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from lessonloop.signals.similar import _count_statement, _Phrase
from lessonloop.store.engine import Database
from tests.factories import failure


def _generic_plan(session: Session, sql: str) -> str:
    raw = session.connection().connection.dbapi_connection
    assert raw is not None
    with raw.cursor() as cur:
        cur.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        # With sequential scans priced out, the planner chooses between the two indexes, which is
        # the choice the generic plan got wrong (on a table this small a scan would hide it).
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute(f"PREPARE counts (text[]) AS {sql.replace(':words', '$1')}")
        try:
            cur.execute("EXPLAIN EXECUTE counts (ARRAY['outage', 'vendor'])")
            return "\n".join(row[0] for row in cur.fetchall())
        finally:
            cur.execute("DEALLOCATE counts")


def test_the_word_counts_look_words_up_in_the_index_under_a_generic_plan(pg_db: Database) -> None:
    with pg_db.unit(actor="tester") as session:
        for i in range(30):
            failure(session, title=f"Outage number {i}", observation="A vendor outage stopped checkout")
        session.flush()
        session.execute(text("ANALYZE search_documents"))  # the planner knows the table's ids
        params: dict[str, object] = {}
        sql = _count_statement("postgresql", [_Phrase(("outage",))], None, params)
        assert set(params) == {"words"}  # nothing else left for a generic plan to guess
        plan = _generic_plan(session, sql)
        assert "Bitmap Index Scan on ix_search_documents_tsv" in plan, plan
        assert "search_documents_pkey" not in plan, plan
