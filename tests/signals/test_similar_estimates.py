"""Similar failures in a large PostgreSQL collection: common terms' document counts come from the
database's statistics instead of counting every matching row (at 1M failures one failure's
first lookup took 70 s); SQLite and small collections keep exact counts."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from lessonloop.signals import similar
from tests.factories import SYSTEM, failure


@pytest.fixture
def collection(session: Session) -> Session:
    for i in range(60):
        words = (
            "Replica lag grew"
            + (" after a timeout" if i % 2 else "")
            + (" for a customer" if i % 3 == 0 else "")
        )
        failure(session, title=f"{words} ({i})", observation=f"{words}. Incident {i}.")
    failure(session, title="A zebra crossed the data centre", observation="Rare words only.")
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE search_documents"))  # what autovacuum does after writes
    similar.clear_df_cache()
    return session


SURFACE: dict[str, str | similar._AnyOf] = {
    "replica": "replica",
    "timeout": "timeout",
    "zebra": "zebra",
    "customer": similar._AnyOf((("customer",), ("client",))),
}


def test_common_terms_are_estimated_on_postgresql_only(
    collection: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(similar, "ESTIMATE_MIN_DOCUMENTS", 0)
    monkeypatch.setattr(similar, "DF_CACHE_MIN", 5)
    terms = sorted(SURFACE)
    documents = similar._document_count(collection)
    exact = similar._count_matches(collection, SURFACE, terms, None)
    assert exact == {"customer": 20, "replica": 60, "timeout": 30, "zebra": 1}
    estimated = similar._estimated_counts(collection, SURFACE, terms, documents)
    if collection.get_bind().dialect.name == "sqlite":
        assert estimated == {}  # FTS5 counts from its doclists: always exact
        return
    # ANALYZE read every row of a small table, so the shares are exact; a rare term is counted
    assert set(estimated) == {"customer", "replica", "timeout"}
    for term, count in estimated.items():
        assert abs(count - exact[term]) <= 1, term
    # and the frequencies the ranking uses are the exact ones, within rounding
    n, df = similar._document_frequencies(collection, SURFACE, [])
    assert n == documents and df["zebra"] == 1
    assert all(abs(df[t] - exact[t]) <= 1 for t in terms)


def test_a_small_collection_counts_every_term(collection: Session) -> None:
    documents = similar._document_count(collection)
    assert documents < similar.ESTIMATE_MIN_DOCUMENTS
    assert similar._estimated_counts(collection, SURFACE, sorted(SURFACE), documents) == {}


def test_the_similar_failures_are_the_same_with_estimates(
    collection: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    def top() -> list[int]:
        similar.clear_df_cache()
        found = similar.similar_failures(
            collection, title="Replica lag after a timeout", text="", limit=5, viewer=SYSTEM
        )
        return [m.id for m in found]

    counted = top()
    monkeypatch.setattr(similar, "ESTIMATE_MIN_DOCUMENTS", 0)
    monkeypatch.setattr(similar, "DF_CACHE_MIN", 5)
    assert top() == counted and counted
