"""PostgreSQL keeps a search vector in its row, not in the TOAST table (migration 0028).

Ranking a match reads its vector; a toasted vector is a TOAST index lookup and more pages per
match, which doubled the full ranking of an *and* of frequent terms (decision 71). A long
document (many distinct words: a vector over 2 KB) is what would be toasted.
"""

from __future__ import annotations

import random

import pytest
from sqlalchemy import text

from lessonloop.search.service import search
from lessonloop.store import migrate
from lessonloop.store.engine import Database
from tests.factories import SYSTEM, failure


@pytest.fixture
def pg(pg_db: Database) -> Database:
    return pg_db  # PostgreSQL only: SQLite's FTS5 keeps its own index


def _long_text(seed: int, words: int = 250) -> str:
    """Words of random letters: a vector of ~250 lexemes (~3 KB: over the 2 KB at which PostgreSQL moves values out, under a page), a body pglz cannot shrink."""
    rng = random.Random(seed)
    return " ".join("".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(7)) for _ in range(words))


def _storage(db: Database) -> str:
    with db.engine.connect() as conn:
        return str(
            conn.scalar(
                text(
                    "SELECT attstorage FROM pg_attribute "
                    "WHERE attrelid = 'search_documents'::regclass AND attname = 'tsv'"
                )
            )
        )


def _toasted_values(db: Database) -> int:
    """Values of ``search_documents`` kept out of their rows (bodies and vectors)."""
    with db.engine.connect() as conn:
        toast = conn.scalar(
            text("SELECT reltoastrelid::regclass::text FROM pg_class WHERE relname = 'search_documents'")
        )
        return int(conn.scalar(text(f"SELECT count(DISTINCT chunk_id) FROM {toast}")) or 0)


def _vectors(db: Database) -> dict[int, str]:
    with db.engine.connect() as conn:
        return {
            int(d): str(v) for d, v in conn.execute(text("SELECT doc_id, tsv::text FROM search_documents"))
        }


def test_the_vector_column_is_kept_in_the_row(pg: Database) -> None:
    assert _storage(pg) == "m"


def test_a_long_document_written_now_has_only_its_body_out_of_the_row(pg: Database) -> None:
    before = _toasted_values(pg)
    with pg.unit(actor="tester") as session:
        failure(session, title="Release notes lost", observation=_long_text(1))
    # the body (incompressible, > 2 KB) leaves the row; the vector stays
    assert _toasted_values(pg) == before + 1


def test_the_upgrade_moves_vectors_written_before_it_into_their_rows(pg: Database) -> None:
    migrate.downgrade(pg.engine, "0027")
    try:
        assert _storage(pg) == "x"
        with pg.unit(actor="tester") as session:
            ids = [
                failure(session, title=f"Runbook {n} drifted", observation=_long_text(n)).id for n in range(3)
            ]
        toasted, vectors = _toasted_values(pg), _vectors(pg)
        assert toasted == 6  # each document's body and vector
    finally:
        migrate.upgrade(pg.engine)
    assert _storage(pg) == "m"
    assert _toasted_values(pg) == 3  # the bodies only
    assert _vectors(pg) == vectors  # every lexeme, position and weight kept
    word = _long_text(1).split()[5]
    with pg.unit() as session:
        assert [h.record_id for h in search(session, f"runbook {word}", viewer=SYSTEM)] == [ids[1]]
