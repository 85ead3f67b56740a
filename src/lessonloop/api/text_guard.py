"""Refuse request bodies holding text that neither database can store the same way: 422.

JSON may spell characters that are not storable text: a lone surrogate (``"\\ud800"``) cannot be
encoded as UTF-8 at all (the driver failed with a 500), and NUL (``"\\u0000"``) is refused by
PostgreSQL but kept by SQLite. pydantic's ``str`` accepts both, so every JSON body is checked
once, whole, before any route sees it — a string anywhere in it (a field, a list item, a key of a
free-form object) is refused with 422 naming its path, the same on both backends. Checking the
decoded body rather than each field's type means a new body model cannot forget it.
"""

from __future__ import annotations

from fastapi import Request

from lessonloop.textcheck import check_json


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


async def refuse_unstorable_text(request: Request) -> None:
    """A router dependency: :class:`~lessonloop.errors.Invalid` (422, ``loc: ["body", path]``)
    for a JSON body with NUL or a lone surrogate, or nested deeper than
    :data:`lessonloop.textcheck.JSON_DEPTH_MAX`."""
    if not _is_json(request.headers.get("content-type")) or not await request.body():
        return
    try:
        data = await request.json()  # parsed once: FastAPI has cached it for the route
    except ValueError:
        return  # not JSON: FastAPI has refused it already (400/422)
    check_json(data)
