"""What every endpoint shares: who is asking, the request's transaction, paging.

One request is one transaction. :func:`db_session` yields a session from ``Database.unit``; it
is declared with ``scope="function"`` so FastAPI leaves the ``with`` block — and so commits —
right after the endpoint returned and its response was serialised, but *before* the response is
sent. A commit that fails therefore becomes an error response, never a 200 for work that was
not saved. An exception in the endpoint rolls everything back.

Authentication comes later: :func:`current_actor` is the one function to replace.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Query, Request
from sqlalchemy.orm import Session

from lessonloop.errors import Invalid
from lessonloop.settings import Settings
from lessonloop.store.engine import Database

DEFAULT_ACTOR = "api"
ACTOR_HEADER = "X-Lessonloop-Actor"
_ACTOR_MAX = 200  # the history log's actor column


def current_actor(
    x_lessonloop_actor: Annotated[
        str | None,
        Header(
            alias=ACTOR_HEADER,
            description="Who makes the change, as recorded in the history log (default: api). "
            "Placeholder until authentication: a bearer token will decide this instead.",
        ),
    ] = None,
) -> str:
    """Who is making this request; recorded with every change in the history log.

    The single seam for authentication: every route depends on this function (directly and
    through :func:`db_session`). A later issue replaces its body — e.g. read an
    ``Authorization: Bearer`` token, look up the account, raise 401 when it is missing — and
    nothing else in ``api/`` has to change.
    """
    actor = " ".join((x_lessonloop_actor or "").split())
    if not actor:
        return DEFAULT_ACTOR
    if len(actor) > _ACTOR_MAX:
        raise Invalid(f"is longer than {_ACTOR_MAX} characters", field=ACTOR_HEADER)
    return actor


Actor = Annotated[str, Depends(current_actor)]


def get_database(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(get_settings_dep)]


def db_session(actor: Actor, database: Annotated[Database, Depends(get_database)]) -> Iterator[Session]:
    """The request's unit of work: commit after the endpoint, roll back on any error."""
    with database.unit(actor=actor) as session:
        yield session


# scope="function": the commit runs before the response is sent (see the module docstring).
DbSession = Annotated[Session, Depends(db_session, scope="function")]


@dataclass(frozen=True)
class PageParams:
    page: int
    page_size: int


def page_params(
    settings: AppSettings,
    page: Annotated[int, Query(ge=1, description="Page number, from 1.")] = 1,
    page_size: Annotated[
        int | None, Query(ge=1, description="Rows per page (default 50, at most 500).")
    ] = None,
) -> PageParams:
    size = settings.default_page_size if page_size is None else page_size
    if size > settings.max_page_size:
        raise Invalid(f"must be at most {settings.max_page_size}", field="page_size")
    return PageParams(page=page, page_size=size)


Paging = Annotated[PageParams, Depends(page_params)]
