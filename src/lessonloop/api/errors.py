"""Domain errors → HTTP: NotFound 404, Invalid 422, Conflict 409, PermissionDenied 403,
NotAuthenticated 401 (with ``WWW-Authenticate: Bearer``).

422 bodies have the shape FastAPI gives its own request validation errors,
``{"detail": [{"loc": [source, field], "msg": ..., "type": ...}]}``, so a client reads one
format whether pydantic or a service refused the input. The others are
``{"detail": message, "field": name-or-null}``.

A 422 never echoes a large input back: each problem's ``input`` is kept only when it is a short
scalar (strings are cut at ``limits.ERROR_INPUT_MAX`` characters), ``loc`` parts are cut the same
way, and at most ``limits.ERRORS_SHOWN_MAX`` problems are listed.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, OperationalError

from lessonloop import limits
from lessonloop.errors import Invalid, LessonloopError, NotAuthenticated

log = logging.getLogger("lessonloop.api")

_NO_BODY = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})


def error_location(request: Request, field: str | None) -> list[str | int]:
    """Where the named input came from: path, query, header or body."""
    if field is not None and field in request.path_params:
        source = "path"
    elif field is not None and field in request.query_params:
        source = "query"
    else:
        source = "query" if request.method in _NO_BODY else "body"
    return [source] if field is None else [source, field]


def invalid_body(request: Request, exc: LessonloopError) -> dict[str, object]:
    return {
        "detail": [{"loc": error_location(request, exc.field), "msg": exc.message, "type": "value_error"}]
    }


async def lessonloop_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LessonloopError)
    if isinstance(exc, Invalid):
        return JSONResponse(invalid_body(request, exc), status_code=exc.status_code)
    headers = None
    if isinstance(exc, NotAuthenticated):
        presented = "authorization" in request.headers
        headers = {"WWW-Authenticate": 'Bearer error="invalid_token"' if presented else "Bearer"}
    return JSONResponse(
        {"detail": exc.message, "field": exc.field}, status_code=exc.status_code, headers=headers
    )


def _cut(text: str) -> str:
    short = text if len(text) <= limits.ERROR_INPUT_MAX else text[: limits.ERROR_INPUT_MAX] + "…"
    # A lone surrogate cannot be encoded as UTF-8: echoed as is, it turned a 422 into a 500.
    return short.encode("utf-8", "backslashreplace").decode("utf-8")


def short_problem(error: dict[str, Any]) -> dict[str, Any]:
    """One pydantic problem without the bulk: no ``ctx``/``url``, a short ``loc`` and ``input``."""
    item: dict[str, Any] = {
        "loc": [part if isinstance(part, int) else _cut(str(part)) for part in error.get("loc", ())],
        "msg": _cut(str(error.get("msg", ""))),
        "type": str(error.get("type", "value_error")),
    }
    value = error.get("input")
    if isinstance(value, str):
        item["input"] = _cut(value)
    elif value is None or isinstance(value, bool | int | float):
        item["input"] = value
    # A list or object is left out: it can be the whole (huge) body.
    return item


async def request_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    shown = [short_problem(e) for e in errors[: limits.ERRORS_SHOWN_MAX]]
    if len(errors) > len(shown):
        more = len(errors) - len(shown)
        shown.append({"loc": ["body"], "msg": f"and {more} more problems", "type": "too_many_errors"})
    return JSONResponse({"detail": shown}, status_code=422)


async def integrity_error(request: Request, exc: Exception) -> JSONResponse:
    # The services check uniqueness and references first; this is the race they cannot see
    # (two requests creating the same handle at once). The SQL is not shown to the client.
    log.warning("integrity error on %s %s: %s", request.method, request.url.path, exc)
    return JSONResponse(
        {"detail": "the change conflicts with data written meanwhile; reload and retry", "field": None},
        status_code=409,
    )


async def operational_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("database error on %s %s: %s", request.method, request.url.path, exc)
    return JSONResponse(
        {"detail": "the database is unavailable or busy; retry shortly", "field": None}, status_code=503
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(LessonloopError, lessonloop_error)
    app.add_exception_handler(RequestValidationError, request_validation_error)
    app.add_exception_handler(IntegrityError, integrity_error)
    app.add_exception_handler(OperationalError, operational_error)
