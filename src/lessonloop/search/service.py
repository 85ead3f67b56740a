"""Full-text search for an actor: the index ranks (:func:`lessonloop.store.search.rank`), the
policy decides what the actor may see (:mod:`lessonloop.access.indexed`).

The storage layer knows nothing of people; this module is where the two meet, so a search can
no more run without an actor than any other read.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor, SystemActor, is_person, is_system, require_actor
from lessonloop.access.indexed import document_visibility
from lessonloop.access.policy import visible_failures_clause
from lessonloop.actions.models import Action
from lessonloop.errors import PermissionDenied
from lessonloop.failures.models import Failure
from lessonloop.reviews.models import Review
from lessonloop.store import postings
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
) -> list[Hit]:
    """Rank matching documents (all terms must match unless ``any_term``), best first.

    Exact: the page is cut from the ranking of every match ``viewer`` may see (decision 44). A
    person gets only the documents they may see, filtered in the same SQL statement, with
    ``limit`` and ``offset`` counted over those; a named system job gets every document;
    ``None`` is refused.
    """
    require_actor(viewer)
    if not terms(query):
        return []
    visible = document_visibility(viewer) if is_person(viewer) else None
    return rank(session, query, kinds=kinds, limit=limit, offset=offset, any_term=any_term, visible=visible)


def hit_failures(session: Session, hits: Sequence[Hit], *, viewer: Actor) -> dict[tuple[str, int], int]:
    """The failure each review and action among ``hits`` belongs to, keyed ``(kind, record_id)``:
    one query per kind for the whole page (a page of results links each hit to its failure),
    only for the records ``viewer`` may see; failure hits are their own failure."""
    require_actor(viewer)
    found: dict[tuple[str, int], int] = {
        (h.kind, h.record_id): h.record_id for h in hits if h.kind == "failure"
    }
    for kind, model in (("review", Review), ("action", Action)):
        ids = sorted({h.record_id for h in hits if h.kind == kind})
        if not ids:
            continue
        stmt = (
            select(model.id, model.failure_id)
            .join(Failure, Failure.id == model.failure_id)
            .where(model.id.in_(ids))
        )
        if is_person(viewer):
            stmt = stmt.where(visible_failures_clause(viewer, Failure))
        found.update(((kind, int(rid)), int(fid)) for rid, fid in session.execute(stmt))
    return found


def keep_search_lists(session: Session, *, viewer: SystemActor) -> postings.Progress:
    """Build every frequent term's postings when there are none or many documents were written
    since (decision 72; PostgreSQL only, a no-op on SQLite). A system job's work (the worker's
    ``search-lists``): it reads every document whoever may see it, and shows no one anything.
    The caller commits."""
    if not is_system(viewer):
        raise PermissionDenied("the search lists are kept by a system job")
    return postings.catch_up(session.connection())
