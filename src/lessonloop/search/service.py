"""Full-text search for an actor: the index ranks (:func:`lessonloop.store.search.rank`), the
policy decides what the actor may see (:mod:`lessonloop.access.indexed`).

The storage layer knows nothing of people; this module is where the two meet, so a search can
no more run without an actor than any other read.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor, is_person, require_actor
from lessonloop.access.indexed import visible_documents
from lessonloop.access.viewer import Viewer
from lessonloop.store.search import Hit, rank, terms


def search(
    session: Session,
    query: str,
    *,
    viewer: Actor,
    kinds: Sequence[str] | None = None,
    limit: int = 20,
    offset: int = 0,
    any_term: bool = False,
    candidates: int | None = None,
) -> list[Hit]:
    """Rank matching documents (all terms must match unless ``any_term``), best first.

    A person gets only the documents they may see, with ``limit`` and ``offset`` counted over
    those; a named system job gets every document; ``None`` is refused. See
    :func:`~lessonloop.store.search.rank` for the ranking and its candidate bound.
    """
    require_actor(viewer)
    if not terms(query):
        return []
    if is_person(viewer):
        return _visible_search(
            session,
            query,
            viewer,
            kinds=kinds,
            limit=limit,
            offset=offset,
            any_term=any_term,
            candidates=candidates,
        )
    return rank(
        session, query, kinds=kinds, limit=limit, offset=offset, any_term=any_term, candidates=candidates
    )


def _visible_search(
    session: Session,
    query: str,
    viewer: Viewer,
    *,
    kinds: Sequence[str] | None,
    limit: int,
    offset: int,
    any_term: bool,
    candidates: int | None,
) -> list[Hit]:
    """Rank as the index does, dropping what ``viewer`` may not see, batch by batch."""
    wanted = offset + limit
    batch = max(2 * wanted, 50)
    kept: list[Hit] = []
    start = 0
    while len(kept) < wanted:
        hits = rank(
            session, query, kinds=kinds, limit=batch, offset=start, any_term=any_term, candidates=candidates
        )
        seen = visible_documents(session, viewer, [(h.kind, h.record_id) for h in hits])
        kept += [h for h in hits if (h.kind, h.record_id) in seen]
        if len(hits) < batch:
            break
        start += batch
        batch *= 2
    return kept[offset:wanted]
