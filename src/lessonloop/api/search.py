"""Full-text search over failures, reviews, actions, assumptions and lessons — those you may see.

Coaching notes and development plans are never indexed, so they never appear here.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy.orm import Session

from lessonloop.access.viewer import Viewer
from lessonloop.actions.service import get_action
from lessonloop.api.common import API_PREFIX, ERROR_RESPONSES
from lessonloop.api.deps import CurrentViewer, DbSession
from lessonloop.api.one_thread import OneThreadRoute
from lessonloop.reviews.service import get_review
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


def _hit(session: Session, hit: Hit, viewer: Viewer) -> HitOut:
    """Say which failure a hit belongs to and where to read it."""
    failure_id: int | None = None
    href: str | None = None
    if hit.kind == "failure":
        failure_id = hit.record_id
        href = f"{API_PREFIX}/failures/{hit.record_id}/overview"
    elif hit.kind == "review":
        failure_id = get_review(session, hit.record_id, viewer=viewer).failure_id
        href = f"{API_PREFIX}/reviews/{hit.record_id}"
    elif hit.kind == "action":
        failure_id = get_action(session, hit.record_id, viewer=viewer).failure_id
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
    return [_hit(session, h, viewer) for h in hits]
