"""Complete postings on SQLite (decision 72): every match's ``bm25()`` computed in numpy, bit for
bit FTS5's own, and the page the head of the full ranking.

The reference is FTS5 itself: every match ranked by ``-bm25(search_fts, 0.0, 0.0, 4.0, 1.0)``
(the full ranking of decision 44), kept when the policy's Python predicate lets the viewer see
it. Scores are compared with ``==``: an estimate would not do, the postings' scores *are* the
ranking. Writes land in the same transaction as the searches, so FTS5's uncommitted totals and
the documents written since the build (the tail) are in play throughout.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor, SystemActor
from lessonloop.access.policy import can_see_failure
from lessonloop.access.viewer import Viewer, viewer_for
from lessonloop.failures.models import Failure
from lessonloop.failures.service import update_failure
from lessonloop.search.service import keep_search_lists, search
from lessonloop.store import postings, postings_base, postings_fts5
from lessonloop.store.engine import Database
from tests.factories import SYSTEM, failure
from tests.store.search_corpus import corpus, spy_on_top

JOB = SystemActor("search-lists")


@pytest.fixture
def lite(sqlite_db: Database) -> Iterator[Session]:
    with sqlite_db.unit(actor="tester") as s:
        yield s


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """One entry per search that tried the postings: whether they answered it."""
    return spy_on_top(monkeypatch, postings_fts5)


def _corpus(session: Session) -> dict[str, Any]:
    return corpus(session, timeout_word="timeouts")


def _build(session: Session) -> postings.Progress:
    return postings.build(session.connection(), min_df=5)


def _full_ranking(session: Session, query: str, viewer: Actor) -> list[tuple[int, float]]:
    """Every failure matching every word of ``query``, ranked by FTS5's own ``bm25()`` of every
    match, kept when the policy lets ``viewer`` see it: ``(record_id, score)``."""
    match = " ".join(f'"{w}"' for w in query.split())
    rows = session.execute(
        text(
            "SELECT record_id, rowid, -bm25(search_fts, 0.0, 0.0, 4.0, 1.0) FROM search_fts "
            "WHERE search_fts MATCH :q AND kind = 'failure'"
        ),
        {"q": match},
    ).all()
    kept = []
    for record_id, doc, score in rows:
        if isinstance(viewer, Viewer) and not can_see_failure(viewer, session.get_one(Failure, record_id)):
            continue
        kept.append((-float(score), int(doc), int(record_id)))
    return [(rid, -neg) for neg, _d, rid in sorted(kept)]


def _page(
    session: Session, query: str, viewer: Actor, *, limit: int = 10, offset: int = 0
) -> list[tuple[int, float]]:
    hits = search(session, query, kinds=["failure"], limit=limit, offset=offset, viewer=viewer)
    return [(h.record_id, h.score) for h in hits]


QUERIES = ("gateway", "timeouts", "gateway timeout", "gateway report", "report gateway gateway", "gateway 12")


@pytest.mark.parametrize("batch", [200, 1])
def test_pages_equal_the_full_ranking_score_for_score(
    lite: Session, settled: list[bool], batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postings_base, "BATCH", batch)
    monkeypatch.setattr(postings_base, "BATCH_PER_RESULT", 1)
    corpus = _corpus(lite)
    progress = _build(lite)
    assert progress.rebuilt and progress.terms >= 4 and progress.waiting == 0
    ben = viewer_for(lite, corpus["ben"])
    for viewer in (ben, SYSTEM):
        for query in QUERIES:
            reference = _full_ranking(lite, query, viewer)
            assert reference, query
            for offset, limit in ((0, 3), (0, 10), (3, 5), (max(0, len(reference) - 2), 5)):
                page = _page(lite, query, viewer, limit=limit, offset=offset)
                assert page == reference[offset : offset + limit], (viewer, query, offset)
    # every query's words frequent but "12" (one document): that one was ranked in full
    assert settled.count(False) == 8 and settled.count(True) == 8 * (len(QUERIES) - 1)


def test_writes_since_the_build_are_ranked_exactly(lite: Session, settled: list[bool]) -> None:
    """New, changed and deleted documents after the build, in the same transaction as the
    searches: the totals FTS5 has not written yet, the rows with each token (which every score's
    idf depends on) and the written documents' own scores all stay FTS5's."""
    corpus = _corpus(lite)
    _build(lite)
    new = failure(lite, title="Gateway gateway", observation="gateway timeouts", visibility="org")
    lite.flush()
    assert _page(lite, "gateway", SYSTEM)[0][0] == new.id
    for query in QUERIES[:5]:
        assert _page(lite, query, SYSTEM, limit=100) == _full_ranking(lite, query, SYSTEM), query
    update_failure(lite, corpus["ids"][0], {"title": "Unrelated", "observation": "nothing"}, viewer=SYSTEM)
    update_failure(lite, corpus["ids"][1], {"observation": "gateway " * 9}, viewer=SYSTEM)
    lite.execute(text("DELETE FROM failures WHERE id = :i"), {"i": corpus["ids"][2]})
    from lessonloop.store.search import unindex_documents

    unindex_documents(lite.connection(), [("failure", corpus["ids"][2])])
    lite.flush()
    assert lite.execute(text("SELECT count(*) FROM search_tail")).scalar() == 4
    for query in QUERIES[:5]:
        assert _page(lite, query, SYSTEM, limit=100) == _full_ranking(lite, query, SYSTEM), query
    assert settled and all(settled)


def test_a_committed_corpus_searched_in_a_new_unit(sqlite_db: Database, settled: list[bool]) -> None:
    with sqlite_db.unit(actor="tester") as s:
        _corpus(s)
    with sqlite_db.unit(actor="tester") as s:
        _build(s)
    with sqlite_db.unit(actor="tester") as s:
        failure(s, title="Gateway", observation="gateway timeouts report", visibility="org")
    with sqlite_db.unit(actor="tester") as s:
        for query in QUERIES[:5]:
            assert _page(s, query, SYSTEM, limit=100) == _full_ranking(s, query, SYSTEM), query
    assert settled and all(settled)


def test_a_word_fts5_reads_as_a_phrase_is_ranked_in_full(lite: Session, settled: list[bool]) -> None:
    _corpus(lite)
    _build(lite)
    assert postings_fts5.tokens("gateway_timeout") == ("gatewai", "timeout")
    assert postings_fts5.tokens("Timeouts") == ("timeout",)
    assert _page(lite, "gateway_timeout", SYSTEM) == _full_ranking(lite, "gateway_timeout", SYSTEM)[:10]
    assert settled == [False]


def test_no_postings_before_the_first_build(lite: Session, settled: list[bool]) -> None:
    _corpus(lite)
    assert _page(lite, "gateway", SYSTEM) == _full_ranking(lite, "gateway", SYSTEM)[:10]
    assert settled == [False]


def test_the_job_builds_when_there_are_none_or_many_written(
    lite: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    _corpus(lite)
    monkeypatch.setattr(postings_base, "MIN_DF", 5)
    monkeypatch.setattr(postings_base, "REBUILD_AT", 3)
    progress = keep_search_lists(lite, viewer=JOB)
    assert progress.rebuilt and progress.waiting == 0 and progress.terms >= 4
    for n in range(3):
        failure(lite, title=f"Later gateway {n}", observation="gateway", visibility="org")
    lite.flush()
    assert keep_search_lists(lite, viewer=JOB) == postings.Progress(
        progress.terms, progress.postings, 3, rebuilt=False
    )
    failure(lite, title="One more gateway", observation="gateway", visibility="org")
    lite.flush()
    again = keep_search_lists(lite, viewer=JOB)
    assert again.rebuilt and again.waiting == 0
    assert lite.execute(text("SELECT df FROM search_terms WHERE term = 'gatewai'")).scalar() == 64


def test_a_rolled_back_write_is_not_remembered(sqlite_db: Database, settled: list[bool]) -> None:
    """A search remembers how a waiting document tokenizes by the version its write gave it; a
    rolled-back write's document id comes back with other text, and must be read again."""
    with sqlite_db.unit(actor="tester") as s:
        _corpus(s)
    with sqlite_db.unit(actor="tester") as s:
        _build(s)
    with pytest.raises(RuntimeError), sqlite_db.unit(actor="tester") as s:
        gone = failure(s, title="Gateway gateway", observation="gateway " * 8, visibility="org").id
        s.flush()
        assert _page(s, "gateway", SYSTEM)[0][0] == gone
        raise RuntimeError("rolled back")
    with sqlite_db.unit(actor="tester") as s:
        again = failure(
            s, title="Quiet", observation="one gateway among many other words", visibility="org"
        ).id
        assert again == gone  # SQLite gives the id again
    with sqlite_db.unit(actor="tester") as s:
        assert _page(s, "gateway", SYSTEM, limit=100) == _full_ranking(s, "gateway", SYSTEM)
    assert settled and all(settled)
