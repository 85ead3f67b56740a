"""Full-text search over failures, reviews, actions, assumptions and lessons — those you may see.

Coaching notes and development plans are never indexed, so they never appear here.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from lessonloop.api.common import API_PREFIX, ERROR_RESPONSES
from lessonloop.api.deps import CurrentViewer, DbSession
from lessonloop.api.one_thread import OneThreadRoute
from lessonloop.search.service import hit_failures
from lessonloop.search.service import search as search_index
from lessonloop.store.search import Hit

router = APIRouter(route_class=OneThreadRoute, tags=["search"], responses=ERROR_RESPONSES)

# The indexed kinds (store.search.KIND_CODES; a test keeps the two in step).
SearchKind = Literal["failure", "review", "action", "assumption", "lesson"]


class HitOut(BaseModel):
    kind: str
    id: int
    title: str
    snippet: str
    score: float
    failure_id: int | None = None
    href: str | None = None


def _hit(hit: Hit, failure_of: dict[tuple[str, int], int]) -> HitOut:
    """Say which failure a hit belongs to and where to read it."""
    failure_id = failure_of.get((hit.kind, hit.record_id))
    href: str | None = None
    if hit.kind == "failure":
        href = f"{API_PREFIX}/failures/{hit.record_id}/overview"
    elif hit.kind == "review":
        href = f"{API_PREFIX}/reviews/{hit.record_id}"
    elif hit.kind == "action":
        href = f"{API_PREFIX}/actions/{hit.record_id}"
    elif hit.kind == "lesson":
        href = f"{API_PREFIX}/lessons/{hit.record_id}"
    elif hit.kind == "assumption":
        href = f"{API_PREFIX}/assumptions"
    return HitOut(
        kind=hit.kind,
        id=hit.record_id,
        title=hit.title,
        snippet=hit.snippet,
        score=hit.score,
        failure_id=failure_id,
        href=href,
    )


@router.get("/search")
def search(
    session: DbSession,
    viewer: CurrentViewer,
    q: Annotated[str, Query(min_length=1, description="Words to look for (all must match).")],
    kind: Annotated[
        list[SearchKind] | None, Query(description="Only these kinds (repeat the parameter for more).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="At most this many hits.")] = 20,
) -> list[HitOut]:
    """The best matches first; ``[`` and ``]`` mark the matched words in ``snippet``."""
    kinds = list(dict.fromkeys(kind)) if kind else None
    hits = search_index(session, q, kinds=kinds, limit=limit, viewer=viewer)
    failure_of = hit_failures(session, hits, viewer=viewer)  # one query per kind, not per hit
    return [_hit(h, failure_of) for h in hits]
