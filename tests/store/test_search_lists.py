"""Champion lists (decision 68, PostgreSQL): a page they settle is the head of the full ranking.

The lists are built here with a small frequency floor and short lists, so a page is settled by
them for some queries and not for others; either way ``search()`` must equal a ranking of every
match computed independently (every match scored by its own SQL, the policy's Python predicate,
a sort in Python). Then the ways the lists go stale: a document written, changed or deleted after
the build, and a write that lands while the job folds the tail in.
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
from lessonloop.errors import PermissionDenied
from lessonloop.failures.models import Failure
from lessonloop.failures.service import update_failure
from lessonloop.people.service import add_team
from lessonloop.search.service import keep_search_lists, search
from lessonloop.store import champions
from lessonloop.store.engine import Database
from tests.factories import SYSTEM, failure, team_with_people

JOB = SystemActor("search-lists")


@pytest.fixture
def pg(pg_db: Database) -> Iterator[Session]:
    with pg_db.unit(actor="tester") as s:
        yield s


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """One entry per search that tried the lists: whether they settled its page."""
    seen: list[bool] = []
    real = champions.top

    def spy(*args: Any, **kwargs: Any) -> Any:
        head = real(*args, **kwargs)
        seen.append(head is not None)
        return head

    monkeypatch.setattr(champions, "top", spy)
    return seen


@pytest.fixture
def one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Score one candidate, then two, four…: the corpus is smaller than one real batch, and the
    order in which candidates are scored and the point where the page settles must be right."""
    monkeypatch.setattr(champions, "BATCH", 1)
    monkeypatch.setattr(champions, "BATCH_PER_RESULT", 1)
    monkeypatch.setattr(champions, "ROUNDS", 20)


def _corpus(session: Session) -> dict[str, Any]:
    people = team_with_people(session)
    payments, other = people["team"], add_team(session, name="Elsewhere", viewer=SYSTEM)
    ids = []
    for n in range(60):
        words = ["gateway"] * (1 + n % 4) + (["timeout"] if n % 3 == 0 else []) + ["filler"] * (n % 7)
        ids.append(
            failure(
                session,
                title=("Gateway timeout " if n % 5 == 0 else "Incident ") + str(n),
                observation=" ".join(words) + f" report {n}",
                visibility=("org", "team", "private")[n % 3],
                team=(payments, other)[n % 2],
            ).id
        )
    session.flush()
    return {"ben": people["ben"], "ids": ids}


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


def _build(session: Session) -> champions.Progress:
    return champions.build(session.connection(), min_df=5, size=8)


@pytest.mark.parametrize("batches", ["real", "one at a time"])
def test_pages_the_lists_settle_and_pages_they_do_not_are_the_full_ranking(
    pg: Session, settled: list[bool], batches: str, request: pytest.FixtureRequest
) -> None:
    if batches != "real":
        request.getfixturevalue("one_at_a_time")
    corpus = _corpus(pg)
    progress = _build(pg)
    assert progress.rebuilt and progress.terms >= 3 and 0 < progress.listed <= 8 * progress.terms
    ben = viewer_for(pg, corpus["ben"])
    for viewer in (ben, SYSTEM):
        for query in ("gateway", "timeout", "gateway timeout", "gateway report"):
            reference = _full_ranking(pg, query, viewer)
            assert reference, query
            for offset, limit in ((0, 3), (0, 10), (3, 5), (len(reference) - 2, 5)):
                hits = search(pg, query, kinds=["failure"], limit=limit, offset=offset, viewer=viewer)
                assert _ids(hits) == reference[offset : offset + limit], (viewer, query, offset)
    # both ways were taken: short pages settled by the lists, others ranked in full
    assert any(settled) and not all(settled)


def test_a_word_postgresql_splits_into_a_phrase_is_ranked_as_a_phrase(
    pg: Session, settled: list[bool]
) -> None:
    """``gateway_timeout`` is the phrase ``'gateway' <-> 'timeout'``, which ``ts_rank`` scores
    by how close the terms stand, not as the mean of their ranks: the lists must not answer it
    (with other words it is or-ed with them, and the mean holds again)."""
    _corpus(pg)
    _build(pg)
    assert champions.query_terms(pg.connection(), "gateway_timeout") == []
    assert champions.query_terms(pg.connection(), "the | gateway_timeout") == []
    assert champions.query_terms(pg.connection(), "gateway_timeout | report") == [
        "gateway",
        "report",
        "timeout",
    ]
    for query in ("gateway_timeout", "gateway_timeout report"):
        top = _ids(search(pg, query, kinds=["failure"], limit=5, viewer=SYSTEM))
        assert top == _full_ranking(pg, query, SYSTEM)[:5], query


def test_a_document_written_after_the_build_is_ranked_and_then_listed(
    pg: Session, settled: list[bool], one_at_a_time: None
) -> None:
    _corpus(pg)
    _build(pg)
    assert pg.execute(text("SELECT count(*) FROM search_tail")).scalar() == 0
    best = failure(pg, title="Gateway gateway", observation="gateway gateway gateway", visibility="org")
    pg.flush()
    assert pg.execute(text("SELECT count(*) FROM search_tail")).scalar() == 1  # the trigger
    assert _ids(search(pg, "gateway", kinds=["failure"], limit=3, viewer=SYSTEM))[0] == best.id
    assert settled[-1]  # settled by the lists, the new document scored from the tail
    progress = keep_search_lists(pg, viewer=JOB)
    assert (progress.folded, progress.rebuilt) == (1, False)
    assert pg.execute(text("SELECT count(*) FROM search_tail")).scalar() == 0
    listed = pg.execute(
        text("SELECT count(*) FROM search_champions WHERE doc_id = :d"), {"d": 10**10 + best.id}
    ).scalar()
    assert listed and listed >= 1
    assert _ids(search(pg, "gateway", kinds=["failure"], limit=3, viewer=SYSTEM))[0] == best.id
    assert (
        _ids(search(pg, "gateway", kinds=["failure"], limit=10, viewer=SYSTEM))
        == _full_ranking(pg, "gateway", SYSTEM)[:10]
    )


def test_a_changed_and_a_deleted_document(pg: Session) -> None:
    corpus = _corpus(pg)
    _build(pg)
    listed = [
        int(d) - 10**10
        for d in pg.execute(
            text("SELECT doc_id FROM search_champions WHERE term = 'gateway' ORDER BY impact DESC, doc_id")
        ).scalars()
    ]
    first, second = listed[0], listed[1]
    assert first in corpus["ids"]
    # the best-listed failure no longer says "gateway": its stale list entry must not bring it back
    update_failure(pg, first, {"title": "Unrelated", "observation": "nothing to see"}, viewer=SYSTEM)
    pg.flush()
    top = _ids(search(pg, "gateway", kinds=["failure"], limit=10, viewer=SYSTEM))
    assert first not in top and top == _full_ranking(pg, "gateway", SYSTEM)[:10]
    # a deleted document leaves the lists (the trigger), and the pages stay exact
    pg.execute(text("DELETE FROM search_documents WHERE doc_id = :d"), {"d": 10**10 + second})
    gone = pg.execute(text("SELECT count(*) FROM search_champions WHERE doc_id = :d"), {"d": 10**10 + second})
    assert gone.scalar() == 0
    keep_search_lists(pg, viewer=JOB)
    top = _ids(search(pg, "gateway", kinds=["failure"], limit=10, viewer=SYSTEM))
    assert second not in top and first not in top
    assert top == _full_ranking(pg, "gateway", SYSTEM)[:10]


def test_a_write_while_the_tail_is_folded_stays_in_the_tail(pg: Session) -> None:
    _corpus(pg)
    _build(pg)
    new = failure(pg, title="Gateway again", observation="gateway", visibility="org")
    pg.flush()
    conn = pg.connection()
    read = champions._read_tail(conn)
    assert [d for d, _v in read] == [10**10 + new.id]
    # another write to the same document after the job read the tail (as a concurrent one would)
    update_failure(pg, new.id, {"observation": "gateway gateway"}, viewer=SYSTEM)
    pg.flush()
    champions._drop_tail(conn, read)
    assert pg.execute(text("SELECT doc_id, version FROM search_tail")).all() == [(10**10 + new.id, 2)]


def test_the_job_builds_when_there_are_no_lists_or_a_large_tail(
    pg: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    _corpus(pg)
    monkeypatch.setattr(champions, "MIN_DF", 5)
    monkeypatch.setattr(champions, "LIST_SIZE", 8)
    monkeypatch.setattr(champions.build, "__defaults__", (5, 8))
    assert keep_search_lists(pg, viewer=JOB).rebuilt  # none yet
    assert not keep_search_lists(pg, viewer=JOB).rebuilt  # nothing written since: nothing to do
    pg.execute(text("UPDATE search_documents SET title = title"))  # every document written again
    progress = keep_search_lists(pg, viewer=JOB)
    assert progress.rebuilt and progress.folded > 50
    # the documents grow a little at a time, each write folded in: no tail is ever large, but
    # once they have grown by a quarter since the build the lists are built again (a term that
    # became frequent since gets its list; the lists are cut back to their size)
    built_for = pg.execute(text("SELECT documents FROM search_list_builds")).scalar_one()
    for n in range(100):
        failure(pg, title=f"Later gateway {n}", observation="gateway", visibility="org")
        pg.flush()
        documents = pg.execute(text("SELECT count(*) FROM search_documents")).scalar_one()
        progress = keep_search_lists(pg, viewer=JOB)
        assert progress.rebuilt == (documents > 1.25 * built_for), (n, documents, built_for)
        if progress.rebuilt:
            assert pg.execute(text("SELECT documents FROM search_list_builds")).scalar_one() == documents
            break
    else:
        pytest.fail("never built again")
    ben = pg.execute(text("SELECT id FROM people WHERE handle = 'ben'")).scalar_one()
    with pytest.raises(PermissionDenied):
        keep_search_lists(pg, viewer=viewer_for(pg, ben))  # type: ignore[arg-type]


def test_sqlite_keeps_no_lists(sqlite_db: Database) -> None:
    with sqlite_db.unit(actor="tester") as s:
        failure(s, title="Gateway timeout", observation="gateway")
        s.flush()
        assert keep_search_lists(s, viewer=JOB) == champions.Progress(0, 0, 0, rebuilt=False)
        assert _ids(search(s, "gateway", viewer=SYSTEM)) != []
