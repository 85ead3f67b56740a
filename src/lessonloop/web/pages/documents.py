"""Documents to keep or send: a failure's post-mortem and a team's weekly digest.

Both are rendered by ``followthrough`` (the same text the CLI writes and the worker e-mails) for
the signed-in viewer. They are standalone documents with their own print stylesheet inline, so
they get a CSP of their own: no scripts, no requests, only that inline style.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from lessonloop.errors import Invalid
from lessonloop.followthrough.digests import build_team_digest
from lessonloop.followthrough.postmortem import export_postmortem
from lessonloop.web.context import SignedIn, WebRoute

router = APIRouter(route_class=WebRoute)

DOCUMENT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
MEDIA = {"md": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8"}


def _document(text: str, fmt: str, filename: str) -> Response:
    headers = {"Content-Security-Policy": DOCUMENT_CSP}
    if fmt == "md":  # a file to keep; the printable HTML opens in the browser
        headers["Content-Disposition"] = f'attachment; filename="{filename}.md"'
    return Response(text, media_type=MEDIA[fmt], headers=headers)


@router.get("/failures/{failure_id}/postmortem.{fmt}")
def postmortem(ctx: SignedIn, failure_id: int, fmt: str) -> Response:
    if fmt not in MEDIA:
        raise Invalid(f"must be md or html (got {fmt!r})", field="format")
    text = export_postmortem(ctx.session, failure_id, fmt=fmt, viewer=ctx.viewer)
    return _document(text, fmt, f"postmortem-{failure_id}")


@router.get("/teams/{team_id}/digest.{fmt}")
def digest(ctx: SignedIn, team_id: int, fmt: str, week_ending: str = "") -> Response:
    if fmt not in MEDIA:
        raise Invalid(f"must be md or html (got {fmt!r})", field="format")
    built = build_team_digest(ctx.session, team_id, week_ending=week_ending or None, viewer=ctx.viewer)
    text = built.markdown if fmt == "md" else built.html
    return _document(text, fmt, f"digest-{team_id}-{built.data.week_ending.isoformat()}")
