"""Documents: a failure's post-mortem and a team's weekly digest, as the web pages offer them."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from lessonloop.api.common import ERROR_RESPONSES
from lessonloop.api.deps import CurrentViewer, DbSession
from lessonloop.api.one_thread import OneThreadRoute
from lessonloop.followthrough.digests import DigestData, build_team_digest
from lessonloop.followthrough.postmortem import export_postmortem

router = APIRouter(route_class=OneThreadRoute, tags=["documents"], responses=ERROR_RESPONSES)

MEDIA = {"md": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8"}
TEXT = {"schema": {"type": "string"}}

# ``response_class=Response``: the 200 answer is declared here, and the errors (shared
# ERROR_RESPONSES) stay application/json in the document, as they are on the wire.
POSTMORTEM_200 = {
    "description": "Markdown or HTML, as `format` asks.",
    "content": {"text/markdown": TEXT, "text/html": TEXT},
}
DIGEST_200 = {
    "model": DigestData,
    "description": "JSON, Markdown or HTML, as `format` asks.",
    "content": {"text/markdown": TEXT, "text/html": TEXT},
}


@router.get("/failures/{failure_id}/postmortem", response_class=Response, responses={200: POSTMORTEM_200})
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


@router.get("/teams/{team}/digest", response_class=Response, response_model=None, responses={200: DIGEST_200})
def digest(
    team: str,
    session: DbSession,
    viewer: CurrentViewer,
    week_ending: Annotated[
        dt.date | None, Query(description="The last day of the week (default: last Sunday).")
    ] = None,
    format: Annotated[Literal["json", "md", "html"], Query(description="json, md or html.")] = "json",
) -> Response:
    """The team's weekly digest as any plain member sees it (lessons, repeats, overdue actions,
    recognition, guardrails), narrowed to what you may see. For the team's members and org
    admins; others get 404."""
    built = build_team_digest(session, team, week_ending=week_ending, viewer=viewer)
    if format == "json":
        return Response(built.data.model_dump_json(), media_type="application/json")
    return Response(built.markdown if format == "md" else built.html, media_type=MEDIA[format])
