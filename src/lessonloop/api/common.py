"""Shapes shared by every router: the page envelope and the error bodies."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

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
    401: {
        "model": ErrorOut,
        "description": "Not signed in: no API token or session, or an unknown, revoked or expired one.",
    },
    403: {"model": ErrorOut, "description": "Signed in, but not allowed to do this."},
    404: {"model": ErrorOut, "description": "No record with that id (or an unknown reference)."},
    409: {"model": ErrorOut, "description": "The record's state refuses the request."},
    422: {"model": ValidationErrorOut, "description": "The input is invalid; `loc` names the field."},
}
