"""``GET /calendar/{token}.ics`` — include with ``app.include_router(calendars.routes.router)``.

The route reads ``request.app.state.db`` (the :class:`Database` the app factory sets), needs no
sign-in (the token is the credential) and answers 404 for unknown and revoked tokens alike.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response

from lessonloop.calendars.service import feed
from lessonloop.errors import NotFound
from lessonloop.store.engine import Database

router = APIRouter(tags=["calendar"])


@router.get("/calendar/{token}.ics", response_class=Response, include_in_schema=False)
def calendar_feed(token: str, request: Request) -> Response:
    database: Database = request.app.state.db
    try:
        with database.unit(actor="calendar") as session:
            text = feed(session, token)
    except NotFound:
        raise HTTPException(status_code=404, detail="no such calendar") from None
    return Response(
        content=text,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Cache-Control": "private, max-age=300",
            "Content-Disposition": "inline; filename=lessonloop.ics",
        },
    )
