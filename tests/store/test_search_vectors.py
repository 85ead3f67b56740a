"""PostgreSQL search vectors are written by the application (migration 0009), on every path.

A bulk import has a second connection compute them (``bulk.VectorHelper``); whichever path
wrote a document, its vector must be exactly what :data:`VECTOR_SQL` defines, or search would
quietly disagree with the text.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from lessonloop.failures.service import update_failure
from lessonloop.portability import LineError, bulk, import_public_postmortems
from lessonloop.search.service import search
from lessonloop.store import migrate
from lessonloop.store.engine import Database
from lessonloop.store.search import VECTOR_SQL
from tests.factories import SYSTEM, failure
from tests.portability import synthetic

_STALE = (
    "SELECT count(*) FROM search_documents WHERE tsv IS DISTINCT FROM ("
    + VECTOR_SQL.format(title="title", body="body")
    + ")"
)


@pytest.fixture
def pg(pg_db: Database) -> Database:
    return pg_db  # PostgreSQL only: SQLite's FTS5 tokenises the text itself


def _import(db: Database, path: Path) -> Any:
    with db.unit(actor="importer") as session, path.open("rb") as stream:
        return import_public_postmortems(session, stream, batch_size=200, viewer=SYSTEM)


def _documents(db: Database) -> tuple[int, int]:
    with db.engine.connect() as conn:
        return int(conn.scalar(text("SELECT count(*) FROM search_documents")) or 0), int(
            conn.scalar(text(_STALE)) or 0
        )


def test_orm_writes_store_the_defined_vector(pg: Database) -> None:
    with pg.unit(actor="tester") as session:
        f = failure(session, title="Pricing change caused churn", observation="customers left")
    with pg.unit(actor="tester") as session:
        update_failure(
            session, f.id, {"observation": "renewals dropped after the pricing page change"}, viewer=SYSTEM
        )
    assert _documents(pg) == (1, 0)
    with pg.unit() as session:
        assert [h.record_id for h in search(session, "renewals", viewer=SYSTEM)] == [f.id]
        assert search(session, "customers", viewer=SYSTEM) == []


def test_bulk_import_computes_vectors_on_a_second_connection(
    pg: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: set[str] = set()
    real = bulk.document_vectors

    def spy(conn: Any, docs: Any) -> list[str]:
        threads.add(threading.current_thread().name)
        return real(conn, docs)

    monkeypatch.setattr(bulk, "document_vectors", spy)
    result = _import(pg, synthetic.write(tmp_path / "pm.jsonl", 700))
    assert result.created == 700
    assert threads and all(name.startswith("lessonloop-bulk-vectors") for name in threads)
    assert _documents(pg) == (700, 0)
    assert pg.engine.pool.checkedout() == 0  # the helper's connection went back


def test_without_a_second_connection_the_import_computes_them_itself(
    pg: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk.VectorHelper, "open", classmethod(lambda cls, conn: None))
    assert _import(pg, synthetic.write(tmp_path / "pm.jsonl", 450)).created == 450
    assert _documents(pg) == (450, 0)


def test_a_failed_import_leaves_nothing_and_returns_the_helper(pg: Database, tmp_path: Path) -> None:
    path = synthetic.write(tmp_path / "pm.jsonl", 900)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps({"id": "x", "title": 5}) + "\n")
    with pytest.raises(LineError, match="line 901"):
        _import(pg, path)
    assert _documents(pg) == (0, 0)
    assert pg.engine.pool.checkedout() == 0


def test_a_document_without_a_vector_is_refused(pg: Database) -> None:
    with pytest.raises(IntegrityError, match="tsv"), pg.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO search_documents (doc_id, kind, record_id, title, body) "
                "VALUES (10000000001, 'failure', 1, 'a', 'b')"
            )
        )


def test_downgrade_makes_the_vector_generated_again(pg: Database) -> None:
    with pg.unit(actor="tester") as session:
        f = failure(session, title="Hand-off broke between design and QA")
    migrate.downgrade(pg.engine, "0008")
    try:
        with pg.engine.connect() as conn:
            generated = conn.scalar(
                text(
                    "SELECT attgenerated FROM pg_attribute "
                    "WHERE attrelid = 'search_documents'::regclass AND attname = 'tsv'"
                )
            )
        assert generated == "s"
        assert _documents(pg) == (1, 0)
    finally:
        migrate.upgrade(pg.engine)
    with pg.unit() as session:
        assert [h.record_id for h in search(session, "design QA", viewer=SYSTEM)] == [f.id]
