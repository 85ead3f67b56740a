"""Shapes shared by every router: the page envelope and the error bodies."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from pydantic_core import to_json

from lessonloop.fields import Ref as Ref  # re-exported: the API's bodies use them
from lessonloop.fields import ShortText as ShortText
from lessonloop.store.crud import Page

API_PREFIX = "/api/v1"

T = TypeVar("T")
R = TypeVar("R")


class PageOut(BaseModel, Generic[T]):
    """One page of a list: ``pages`` is at least 1, even when ``total`` is 0."""

    items: list[T]
    total: int
    page: int
    page_size: int
    pages: int


def page_out(page: Page[R], convert: Callable[[R], T]) -> PageOut[T]:
    items: Sequence[T] = [convert(item) for item in page.items]
    return PageOut[T](
        items=list(items), total=page.total, page=page.page, page_size=page.page_size, pages=page.pages
    )


def page_json(page: Page[dict[str, Any]]) -> bytes:
    """``PageOut``'s JSON for items that are already dicts of the item model's fields, in its
    order (``failures.listing``): the bytes ``page_out(...).model_dump_json()`` gives, without
    building and validating a model per item. Compact, and infinities and NaN as ``null``, as
    pydantic writes a model."""
    envelope = {
        "items": page.items,
        "total": page.total,
        "page": page.page,
        "page_size": page.page_size,
        "pages": page.pages,
    }
    return to_json(envelope, inf_nan_mode="null")


class ErrorOut(BaseModel):
    """401, 403, 404, 409: a message and the input it is about, when there is one."""

    detail: str
    field: str | None = None


class ValidationErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorOut(BaseModel):
    """422: the same shape FastAPI uses for its own request validation errors."""

    detail: list[ValidationErrorItem]


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    # FastAPI answers 400 itself when a body cannot even be decoded (not UTF-8); JSON that does
    # not parse, or does not fit the model, is a 422.
    400: {"model": ErrorOut, "description": "The request body could not be decoded (it is not UTF-8)."},
    401: {
        "model": ErrorOut,
        "description": "Not signed in: no API token or session, or an unknown, revoked or expired one.",
        "headers": {
            "WWW-Authenticate": {
                "description": '`Bearer`, or `Bearer error="invalid_token"` when a token was sent.',
                "schema": {"type": "string"},
            }
        },
    },
    403: {"model": ErrorOut, "description": "Signed in, but not allowed to do this."},
    404: {"model": ErrorOut, "description": "No record with that id (or an unknown reference)."},
    409: {"model": ErrorOut, "description": "The record's state refuses the request."},
    413: {
        "model": ErrorOut,
        "description": "The request body is over `limits.JSON_BODY_MAX_BYTES` (see docs/api.md, Limits).",
    },
    422: {"model": ValidationErrorOut, "description": "The input is invalid; `loc` names the field."},
}
"""Every error an operation can answer, declared once for every router. Each router passes
``responses=ERROR_RESPONSES``; a route whose success answer is not JSON (CSV, Markdown, HTML)
uses ``response_class=Response`` and declares its own 200 content, so these stay
``application/json``."""
