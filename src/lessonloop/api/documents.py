"""Documents: a failure's post-mortem and a team's weekly digest, as the web pages offer them."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse, Response

from lessonloop.api.common import ERROR_RESPONSES
from lessonloop.api.deps import CurrentViewer, DbSession
from lessonloop.api.one_thread import OneThreadRoute
from lessonloop.followthrough.digests import build_team_digest
from lessonloop.followthrough.postmortem import export_postmortem

router = APIRouter(route_class=OneThreadRoute, tags=["documents"], responses=ERROR_RESPONSES)

MEDIA = {"md": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8"}


@router.get("/failures/{failure_id}/postmortem", response_class=PlainTextResponse)
def postmortem(
    failure_id: int,
    session: DbSession,
    viewer: CurrentViewer,
    format: Annotated[Literal["md", "html"], Query(description="md (Markdown) or html (printable).")] = "md",
) -> Response:
    """The failure's review as a post-mortem document, with what you may see of its actions,
    experiments and lessons."""
    text = export_postmortem(session, failure_id, fmt=format, viewer=viewer)
    return Response(text, media_type=MEDIA[format])


@router.get("/teams/{team}/digest", response_model=None)
def digest(
    team: str,
    session: DbSession,
    viewer: CurrentViewer,
    week_ending: Annotated[
        dt.date | None, Query(description="The last day of the week (default: last Sunday).")
    ] = None,
    format: Annotated[Literal["json", "md", "html"], Query(description="json, md or html.")] = "json",
) -> Any:
    """The team's weekly digest as any plain member sees it (lessons, repeats, overdue actions,
    recognition, guardrails). For the team's members and org admins; others get 404."""
    built = build_team_digest(session, team, week_ending=week_ending, viewer=viewer)
    if format == "json":
        return built.data.model_dump(mode="json")
    return Response(built.markdown if format == "md" else built.html, media_type=MEDIA[format])
