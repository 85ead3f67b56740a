"""The native export as the signed-in person sees the workspace."""

from __future__ import annotations

import io

from fastapi import APIRouter, Response

from lessonloop.api.common import ERROR_RESPONSES
from lessonloop.api.deps import CurrentPrincipal, DbSession
from lessonloop.api.one_thread import OneThreadRoute

router = APIRouter(route_class=OneThreadRoute, tags=["export"], responses=ERROR_RESPONSES)

MEDIA_TYPE = "application/x-ndjson"


@router.get(
    "/export",
    response_class=Response,
    responses={200: {"content": {MEDIA_TYPE: {"schema": {"type": "string"}}}, "description": "JSON Lines"}},
)
def export(principal: CurrentPrincipal, session: DbSession) -> Response:
    """The workspace in the native JSON Lines format (``docs/import-export.md``), limited to what
    you may see: no accounts or tokens, only your own coaching notes and development plans,
    only the failures (and their reviews, actions, experiments, history) you may see."""
    from lessonloop.portability import export_workspace  # imported on use

    out = io.StringIO()
    export_workspace(session, out, viewer=principal.viewer)
    return Response(
        out.getvalue(),
        media_type=MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="lessonloop-{principal.handle}.jsonl"',
            "Cache-Control": "no-store",
        },
    )
