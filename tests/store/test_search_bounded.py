"""Search ranks a bounded set of candidates: the newest matches of each kind (store/search.py)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from lessonloop.lessons.service import create_lesson
from lessonloop.search.service import search
from tests.factories import SYSTEM, failure


def _workspace(session: Session) -> list[int]:
    """Six failures that all match "zebra": the oldest is by far the best match (title and body)."""
    best = failure(session, title="Zebra zebra zebra crossing", observation="zebra zebra zebra zebra")
    ids = [best.id]
    for n in range(5):
        ids.append(
            failure(session, title=f"Crossing {n}", observation=f"one zebra among {n} words " * (n + 1)).id
        )
    return ids


def test_a_query_matching_more_than_the_bound_ranks_the_newest_candidates(session: Session) -> None:
    ids = _workspace(session)
    unbounded = search(session, "zebra", candidates=100, viewer=SYSTEM)
    assert len(unbounded) == 6 and unbounded[0].record_id == ids[0]

    bounded = search(session, "zebra", candidates=3, limit=3, viewer=SYSTEM)
    newest = set(ids[-3:])
    assert {h.record_id for h in bounded} == newest  # the oldest, best match is not a candidate
    # ...and among the candidates the order is the full ranking's order
    assert [h.record_id for h in bounded] == [h.record_id for h in unbounded if h.record_id in newest]
    assert [h.score for h in bounded] == sorted((h.score for h in bounded), reverse=True)


def test_pages_are_cut_from_the_ranked_candidates(session: Session) -> None:
    ids = _workspace(session)
    ranked = [h.record_id for h in search(session, "zebra", candidates=4, limit=4, viewer=SYSTEM)]
    assert set(ranked) == set(ids[-4:])
    first = search(session, "zebra", candidates=4, limit=3, viewer=SYSTEM)
    second = search(session, "zebra", candidates=4, limit=1, offset=3, viewer=SYSTEM)
    assert [h.record_id for h in first] == ranked[:3]
    assert [h.record_id for h in second] == ranked[3:]
    assert all("[" in h.snippet for h in first + second)  # snippets for the returned page


def test_asking_past_the_bound_widens_it(session: Session) -> None:
    ids = _workspace(session)
    everything = [h.record_id for h in search(session, "zebra", candidates=100, viewer=SYSTEM)]
    assert [h.record_id for h in search(session, "zebra", candidates=2, limit=6, viewer=SYSTEM)] == everything
    assert [
        h.record_id for h in search(session, "zebra", candidates=2, limit=2, offset=4, viewer=SYSTEM)
    ] == everything[4:]
    assert len(search(session, "zebra", candidates=2, limit=5, offset=5, viewer=SYSTEM)) == 1
    assert len(ids) == 6
    assert [h.record_id for h in search(session, "zebra", candidates=10**12, viewer=SYSTEM)] == everything


def test_the_bound_applies_to_each_kind_separately(session: Session) -> None:
    ids = _workspace(session)
    lesson = create_lesson(
        session, title="Zebra zebra zebra zebra", learned="zebra zebra zebra zebra", viewer=SYSTEM
    )
    # one candidate per kind: the newest failure and the lesson, which ranks first
    assert [
        (h.kind, h.record_id) for h in search(session, "zebra", candidates=1, limit=1, viewer=SYSTEM)
    ] == [("lesson", lesson.id)]
    newest = search(session, "zebra", kinds=["failure"], candidates=1, limit=1, viewer=SYSTEM)
    assert [h.record_id for h in newest] == [ids[-1]]  # not ids[0], the best failure overall
    assert search(session, "zebra", kinds=["no-such-kind"], viewer=SYSTEM) == []


# Which of 40 failures (0 = the oldest) match: the PostgreSQL search reads the newest matches in
# up to three windows of document ids (store/search.py, _pg_sql), these patterns end in each one.
PATTERNS = {
    "all match": set(range(40)),
    "only the oldest": {0, 1, 2},
    "one new, the rest old": {39, 5, 3, 0},
    "sparse": {38, 30, 20, 12, 4},
    "dense, then sparse": {39, 38, 37, 10, 2},
    "none new": {25, 24, 23, 22, 21, 1},
}


def test_the_candidates_are_exactly_the_newest_matches(session: Session) -> None:
    for name, matching in PATTERNS.items():
        word = "".join(ch for ch in name if ch.isalpha())[:10] + "quokka"
        ids = [
            failure(
                session, title=f"{word} sighting" if n in matching else f"Wombat {n}", observation="seen"
            ).id
            for n in range(40)
        ]
        matched = [ids[n] for n in sorted(matching, reverse=True)]
        for cap in (1, 2, 3, 4, 6):
            hits = search(session, word, kinds=["failure"], candidates=cap, limit=cap, viewer=SYSTEM)
            assert {h.record_id for h in hits} == set(matched[:cap]), (name, cap)
