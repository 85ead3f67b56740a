"""Complete postings (decision 72, PostgreSQL): a page they settle is the head of the full ranking.

The postings are built here with a small frequency floor, so most queries' terms have them and a
rare one does not; either way ``search()`` must equal a ranking of every match computed
independently (every match scored by its own SQL, the policy's Python predicate, a sort in
Python). Then the ways the postings go stale: a document written, changed or deleted after the
build, and a write that lands while the job builds.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor, SystemActor
from lessonloop.access.policy import can_see_failure
from lessonloop.access.viewer import Viewer, viewer_for
from lessonloop.errors import PermissionDenied
from lessonloop.failures.models import Failure
from lessonloop.failures.service import update_failure
from lessonloop.search.service import keep_search_lists, search
from lessonloop.store import postings, postings_base
from lessonloop.store.engine import Database
from tests.factories import SYSTEM, failure
from tests.store.search_corpus import corpus, spy_on_top

JOB = SystemActor("search-lists")


@pytest.fixture
def pg(pg_db: Database) -> Iterator[Session]:
    with pg_db.unit(actor="tester") as s:
        yield s


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """One entry per search that tried the postings: whether they answered it."""
    return spy_on_top(monkeypatch, postings)


@pytest.fixture
def one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Score one candidate, then two, four…: the corpus is smaller than one real batch, and the
    order in which candidates are scored and the point where the page settles must be right."""
    monkeypatch.setattr(postings_base, "BATCH", 1)
    monkeypatch.setattr(postings_base, "BATCH_PER_RESULT", 1)
    monkeypatch.setattr(postings_base, "ROUNDS", 20)


def _corpus(session: Session) -> dict[str, Any]:
    return corpus(session, timeout_word="timeout")


def _full_ranking(session: Session, query: str, viewer: Actor) -> list[int]:
    """Every failure matching every word of ``query``, ranked by the engine's own score of
    every match (the query's words or-ed), kept when the policy lets ``viewer`` see it."""
    words = query.split()
    rows = session.execute(
        text(
            "SELECT record_id, doc_id, ts_rank(tsv, to_tsquery('english', :r), 1) FROM search_documents "
            "WHERE kind = 'failure' AND tsv @@ to_tsquery('english', :m)"
        ),
        {"r": " | ".join(words), "m": " & ".join(words)},
    ).all()
    kept = []
    for record_id, doc, score in rows:
        if isinstance(viewer, Viewer) and not can_see_failure(viewer, session.get_one(Failure, record_id)):
            continue
        kept.append((-float(score), int(doc), int(record_id)))
    return [rid for _s, _d, rid in sorted(kept)]


def _ids(hits: list[Any]) -> list[int]:
    return [h.record_id for h in hits if h.kind == "failure"]


def _build(session: Session) -> postings.Progress:
    return postings.build(session.connection(), min_df=5)


def _posted(session: Session, term: str) -> dict[int, float]:
    """A term's postings as stored: document id -> impact."""
    docs, impacts = session.execute(
        text("SELECT docs, impacts FROM search_terms WHERE term = :t"), {"t": term}
    ).one()
    ids = np.frombuffer(bytes(docs), dtype=">i8")
    weights = np.frombuffer(bytes(impacts), dtype=">f4")
    assert list(ids) == sorted(ids)  # in document order
    return {int(d): float(w) for d, w in zip(ids, weights, strict=True)}


@pytest.mark.parametrize("batches", ["real", "one at a time"])
def test_pages_the_postings_settle_and_pages_they_do_not_are_the_full_ranking(
    pg: Session, settled: list[bool], batches: str, request: pytest.FixtureRequest
) -> None:
    if batches != "real":
        request.getfixturevalue("one_at_a_time")
    corpus = _corpus(pg)
    progress = _build(pg)
    assert progress.rebuilt and progress.terms >= 3 and progress.waiting == 0
    # every document with a frequent term is on its postings, with its impact
    gateway = _posted(pg, "gateway")
    assert len(gateway) == 60 and progress.postings >= 60 + 20
    ben = viewer_for(pg, corpus["ben"])
    # "12" is on one document: too rare for postings, so that query is ranked in full
    for viewer in (ben, SYSTEM):
        for query in ("gateway", "timeout", "gateway timeout", "gateway report", "gateway 12"):
            reference = _full_ranking(pg, query, viewer)
            assert reference, query
            for offset, limit in ((0, 3), (0, 10), (3, 5), (max(0, len(reference) - 2), 5)):
                hits = search(pg, query, kinds=["failure"], limit=limit, offset=offset, viewer=viewer)
                assert _ids(hits) == reference[offset : offset + limit], (viewer, query, offset)
    # both ways were taken: pages settled by the postings, the rare term's ranked in full
    assert any(settled) and not all(settled)


def test_an_and_whose_best_documents_lead_no_single_term_is_settled(pg: Session, settled: list[bool]) -> None:
    """What kept decision 68's champion lists from the p95: the best documents for *a and b*
    weigh a little of each, while the top of each term's own list is documents heavy in that term
    and without the other. Complete postings settle it, and with the full ranking's answer."""
    for n in range(40):  # heavy in one term only
        word = ("gateway", "timeout")[n % 2]
        failure(pg, title=f"{word} {word}", observation=f"{word} " * 6, visibility="org")
    for n in range(30):  # both terms, a little of each, diluted differently
        failure(pg, title="Incident", observation="gateway timeout " + "filler " * (n % 9), visibility="org")
    pg.flush()
    postings.build(pg.connection(), min_df=5)
    reference = _full_ranking(pg, "gateway timeout", SYSTEM)
    assert len(reference) == 30
    for limit in (1, 10, 30):
        assert (
            _ids(search(pg, "gateway timeout", kinds=["failure"], limit=limit, viewer=SYSTEM))
            == (reference[:limit])
        )
    assert settled and all(settled)


def test_a_viewer_who_sees_little_falls_back_to_the_full_ranking(
    pg: Session, settled: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rounds run out before the page is full (the viewer may see few of the best matches): the
    postings give up and every match is ranked; the answer is the same."""
    corpus = _corpus(pg)
    _build(pg)
    monkeypatch.setattr(postings_base, "BATCH", 1)
    monkeypatch.setattr(postings_base, "BATCH_PER_RESULT", 1)
    monkeypatch.setattr(postings_base, "ROUNDS", 1)  # the ten best estimates: not all ben's to see
    ben = viewer_for(pg, corpus["ben"])
    reference = _full_ranking(pg, "gateway", ben)
    assert 5 < len(reference) < 60
    assert _ids(search(pg, "gateway", kinds=["failure"], limit=10, viewer=ben)) == reference[:10]
    assert settled == [False]


def test_a_word_postgresql_splits_into_a_phrase_is_ranked_as_a_phrase(
    pg: Session, settled: list[bool]
) -> None:
    """``gateway_timeout`` is the phrase ``'gateway' <-> 'timeout'``, which ``ts_rank`` scores
    by how close the terms stand, not as the mean of their ranks: the postings must not answer
    it (with other words it is or-ed with them, and the mean holds again)."""
    _corpus(pg)
    _build(pg)
    assert postings.query_terms(pg.connection(), "gateway_timeout") == []
    assert postings.query_terms(pg.connection(), "the | gateway_timeout") == []
    assert postings.query_terms(pg.connection(), "gateway_timeout | report") == [
        "gateway",
        "report",
        "timeout",
    ]
    for query in ("gateway_timeout", "gateway_timeout report"):
        top = _ids(search(pg, query, kinds=["failure"], limit=5, viewer=SYSTEM))
        assert top == _full_ranking(pg, query, SYSTEM)[:5], query


def test_a_document_written_after_the_build_is_ranked_from_the_tail_then_posted(
    pg: Session, settled: list[bool], one_at_a_time: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _corpus(pg)
    _build(pg)
    assert pg.execute(text("SELECT count(*) FROM search_tail")).scalar() == 0
    best = failure(pg, title="Gateway gateway", observation="gateway gateway gateway", visibility="org")
    pg.flush()
    assert pg.execute(text("SELECT count(*) FROM search_tail")).scalar() == 1  # the trigger
    assert 10**10 + best.id not in _posted(pg, "gateway")
    assert _ids(search(pg, "gateway", kinds=["failure"], limit=3, viewer=SYSTEM))[0] == best.id
    assert settled[-1]  # settled by the postings, the new document scored from the tail
    # one document waiting is no reason to build again
    progress = keep_search_lists(pg, viewer=JOB)
    assert (progress.waiting, progress.rebuilt) == (1, False)
    monkeypatch.setattr(postings_base, "REBUILD_AT", 0)
    monkeypatch.setattr(postings_base, "MIN_DF", 5)
    progress = keep_search_lists(pg, viewer=JOB)
    assert (progress.waiting, progress.rebuilt) == (0, True)
    assert 10**10 + best.id in _posted(pg, "gateway")
    assert _ids(search(pg, "gateway", kinds=["failure"], limit=3, viewer=SYSTEM))[0] == best.id
    assert (
        _ids(search(pg, "gateway", kinds=["failure"], limit=10, viewer=SYSTEM))
        == _full_ranking(pg, "gateway", SYSTEM)[:10]
    )


def test_a_changed_and_a_deleted_document(pg: Session, settled: list[bool]) -> None:
    corpus = _corpus(pg)
    _build(pg)
    by_impact = sorted(_posted(pg, "gateway").items(), key=lambda p: (-p[1], p[0]))
    first, second = by_impact[0][0] - 10**10, by_impact[1][0] - 10**10
    assert first in corpus["ids"]
    # the least-posted failure now says "gateway" most: scored once, from the tail, on top
    last = by_impact[-1][0] - 10**10
    changes = {
        "title": "Gateway gateway",
        "observation": "gateway gateway gateway gateway",
        "visibility": "org",
    }
    update_failure(pg, last, changes, viewer=SYSTEM)
    pg.flush()
    top = _ids(search(pg, "gateway", kinds=["failure"], limit=10, viewer=SYSTEM))
    assert top[0] == last and top == _full_ranking(pg, "gateway", SYSTEM)[:10]
    # the best-posted failure no longer says "gateway": its stale posting must not bring it back
    update_failure(pg, first, {"title": "Unrelated", "observation": "nothing to see"}, viewer=SYSTEM)
    pg.flush()
    top = _ids(search(pg, "gateway", kinds=["failure"], limit=10, viewer=SYSTEM))
    assert first not in top and top == _full_ranking(pg, "gateway", SYSTEM)[:10]
    # a deleted document lingers in the postings until the next build; the pages stay exact
    pg.execute(text("DELETE FROM search_documents WHERE doc_id = :d"), {"d": 10**10 + second})
    assert 10**10 + second in _posted(pg, "gateway")
    top = _ids(search(pg, "gateway", kinds=["failure"], limit=10, viewer=SYSTEM))
    assert second not in top and first not in top
    assert top == _full_ranking(pg, "gateway", SYSTEM)[:10]
    assert settled and all(settled)


def test_a_write_while_the_postings_are_built_stays_in_the_tail(pg: Session) -> None:
    _corpus(pg)
    _build(pg)
    new = failure(pg, title="Gateway again", observation="gateway", visibility="org")
    pg.flush()
    conn = pg.connection()
    read = postings._read_tail(conn)
    assert [d for d, _v in read] == [10**10 + new.id]
    # another write to the same document after the job read the tail (as a concurrent one would)
    update_failure(pg, new.id, {"observation": "gateway gateway"}, viewer=SYSTEM)
    pg.flush()
    postings._drop_tail(conn, read)
    assert pg.execute(text("SELECT doc_id, version FROM search_tail")).all() == [(10**10 + new.id, 2)]


def test_a_long_tail_is_not_read_by_searches(
    pg: Session, settled: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    _corpus(pg)
    _build(pg)
    monkeypatch.setattr(postings_base, "TAIL_LIMIT", 3)
    for n in range(4):
        failure(pg, title=f"Gateway {n}", observation="gateway", visibility="org")
    pg.flush()
    assert (
        _ids(search(pg, "gateway", kinds=["failure"], limit=10, viewer=SYSTEM))
        == _full_ranking(pg, "gateway", SYSTEM)[:10]
    )
    assert settled == [False]


def test_the_job_builds_when_there_are_no_postings_or_a_long_tail(
    pg: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    _corpus(pg)
    monkeypatch.setattr(postings_base, "MIN_DF", 5)
    monkeypatch.setattr(postings_base, "REBUILD_AT", 10)
    assert keep_search_lists(pg, viewer=JOB).rebuilt  # none yet
    assert not keep_search_lists(pg, viewer=JOB).rebuilt  # nothing written since: nothing to do
    for n in range(10):
        failure(pg, title=f"Later gateway {n}", observation="gateway", visibility="org")
    pg.flush()
    progress = keep_search_lists(pg, viewer=JOB)
    assert (progress.rebuilt, progress.waiting) == (False, 10)
    failure(pg, title="One more gateway", observation="gateway", visibility="org")
    pg.flush()
    progress = keep_search_lists(pg, viewer=JOB)
    assert (progress.rebuilt, progress.waiting) == (True, 0)
    assert len(_posted(pg, "gateway")) == 71
    ben = pg.execute(text("SELECT id FROM people WHERE handle = 'ben'")).scalar_one()
    with pytest.raises(PermissionDenied):
        keep_search_lists(pg, viewer=viewer_for(pg, ben))  # type: ignore[arg-type]


def test_the_upgrade_drops_the_champion_lists_and_the_job_builds_the_postings(pg_db: Database) -> None:
    from lessonloop.store import migrate

    migrate.downgrade(pg_db.engine, "0028")
    try:
        with pg_db.unit(actor="tester") as s:
            _corpus(s)
            s.execute(text("INSERT INTO search_terms (term, bound, df) VALUES ('gateway', 0.1, 60)"))
            s.execute(text("INSERT INTO search_list_builds (id, documents, built_at) VALUES (1, 60, now())"))
    finally:
        migrate.upgrade(pg_db.engine)
    with pg_db.unit(actor="tester") as s:
        tables = set(
            s.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")).scalars()
        )
        assert "search_champions" not in tables and "search_terms" in tables
        assert s.execute(text("SELECT count(*) FROM search_terms")).scalar() == 0
        progress = postings.build(s.connection(), min_df=5)
        assert progress.rebuilt and len(_posted(s, "gateway")) == 60
        # a deleted document no longer touches the (gone) lists
        s.execute(text("DELETE FROM search_documents WHERE kind = 'failure' AND record_id = 1"))
