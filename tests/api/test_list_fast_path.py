"""The failure list's fast path (api/list_fast_path.py) answers what the route answers, or lets it.

Two apps on one database: the product, and the same app with the fast path taken out, so every
request goes through FastAPI's route. Plain requests must be answered by the fast path (a
wrapper records it) with the same status, body and headers; every other request must reach the
route, which answers it as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from lessonloop.accounts.service import issue_token, revoke_token
from lessonloop.api import list_fast_path
from lessonloop.api.list_fast_path import FailureListFastPath, plain_query
from lessonloop.app import create_app
from lessonloop.settings import Settings
from lessonloop.store.engine import Database
from tests.api.conftest import API
from tests.failures.test_listing import _workspace

#: The headers an answer must carry the same either way (the date and server are the server's).
SAME_HEADERS = (
    "content-type",
    "content-length",
    "x-cache",
    "cache-control",
    "x-content-type-options",
    "referrer-policy",
    "x-frame-options",
    "content-security-policy",
)

PLAIN: list[dict[str, Any]] = [
    {},
    {"page": 1, "page_size": 5},
    {"page": 2, "page_size": 7},
    {"page": 40, "page_size": 5},  # past the end
    {"page": 123456789, "page_size": 500},  # an offset past 2**31 (PostgreSQL once answered 500)
    {"page_size": 500},
    {"status": "observed"},
    {"status": "repeated", "page_size": 3},
    {"kind": "skipped-check"},
    {"severity": "high", "page": 2, "page_size": 2},
    {"label": "outage"},
    {"label": "Äpfel"},
    {"label": "😀 emoji"},
    {"team": "Growth"},
    {"team": "Payments", "severity": "low", "label": "db"},
    {"label": "no such label"},
]

#: Not plain: the route decides (a refusal, a date, something the fast path does not read).
NOT_PLAIN: list[str] = [
    "page=0",
    "page=-1",
    "page=1.0",
    "page=%201",
    "page=%D9%A1",  # an Arabic-Indic digit one: isdigit(), not ASCII
    "page=1&page=2",
    "page=",
    "page_size=0",
    "page_size=501",  # above the most: paging_for refuses it
    "page=99999999999",  # more digits than the fast path reads: an empty page from the route
    "status=bogus",
    "status=Observed",
    "kind=",
    "team=No+such+team",  # the route's 404
    "since=2026-02-01",
    "until=2026-03-01T00:00:00Z",
    "label=a&label=b",
    "sort=title",
]


@pytest.fixture
def outcomes(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """One entry per request the fast path looked at: True when it answered it."""
    seen: list[bool] = []
    answer = FailureListFastPath._answer

    async def recording(self: FailureListFastPath, scope: Any, receive: Any) -> Any:
        response = await answer(self, scope, receive)
        seen.append(response is not None)
        return response

    monkeypatch.setattr(FailureListFastPath, "_answer", recording)
    return seen


def _route_only(app: FastAPI) -> FastAPI:
    app.user_middleware = [m for m in app.user_middleware if m.cls is not FailureListFastPath]
    return app


@pytest.fixture
def workspace(db: Database) -> dict[str, str]:
    """The listing tests' workspace, and a token for people who see different failures."""
    tokens = {}
    with db.unit(actor="test") as session:
        people = _workspace(session)
        for handle in ("ana", "gil", "loner", "dee"):
            tokens[handle] = issue_token(session, people[handle], "tests")[1]
    return tokens


def _apps(db: Database, *, cache: bool) -> Iterator[tuple[TestClient, TestClient]]:
    settings = Settings(database_url=db.settings.database_url, api_cache=cache)
    fast = create_app(settings, database=db)
    route = _route_only(create_app(settings, database=db))
    with TestClient(fast) as fast_client, TestClient(route) as route_client:
        yield fast_client, route_client


@pytest.fixture
def uncached(db: Database) -> Iterator[tuple[TestClient, TestClient]]:
    yield from _apps(db, cache=False)


@pytest.fixture
def cached(db: Database) -> Iterator[tuple[TestClient, TestClient]]:
    yield from _apps(db, cache=True)


def _same(fast: Any, route: Any) -> None:
    assert (fast.status_code, fast.content) == (route.status_code, route.content)
    for name in SAME_HEADERS:
        assert fast.headers.get(name) == route.headers.get(name), name


def test_plain_requests_are_answered_by_the_fast_path_as_the_route_answers_them(
    workspace: dict[str, str], uncached: tuple[TestClient, TestClient], outcomes: list[bool]
) -> None:
    fast, route = uncached
    for token in workspace.values():  # a new token's first use is written: the route does that
        route.get(f"{API}/failures", headers={"Authorization": f"Bearer {token}"})
    answered = 0
    for handle, token in workspace.items():
        headers = {"Authorization": f"Bearer {token}"}
        for params in PLAIN:
            url = f"{API}/failures?{urlencode(params)}"
            got, want = fast.get(url, headers=headers), route.get(url, headers=headers)
            assert got.status_code == 200, (handle, params, got.text)
            _same(got, want)
            assert got.headers["x-cache"] == "miss"
            answered += 1
    assert outcomes == [True] * answered  # the fast path answered every one; the route none
    # the people see different failures: the answers were not all one answer
    firsts = {
        fast.get(f"{API}/failures", headers={"Authorization": f"Bearer {t}"}).json()["total"]
        for t in workspace.values()
    }
    assert len(firsts) > 1


def test_every_other_request_goes_to_the_route(
    workspace: dict[str, str], uncached: tuple[TestClient, TestClient], outcomes: list[bool]
) -> None:
    fast, route = uncached
    headers = {"Authorization": f"Bearer {workspace['gil']}"}
    for query in NOT_PLAIN:
        url = f"{API}/failures?{query}"
        _same(fast.get(url, headers=headers), route.get(url, headers=headers))
    # the ones plain_query lets through are refused further on (page size, team): the route answers
    assert not any(outcomes)
    assert len(outcomes) == len(NOT_PLAIN)
    statuses = {q: fast.get(f"{API}/failures?{q}", headers=headers).status_code for q in NOT_PLAIN}
    assert statuses["page=0"] == statuses["page_size=501"] == statuses["status=bogus"] == 422
    assert statuses["team=No+such+team"] == 404
    assert statuses["since=2026-02-01"] == statuses["sort=title"] == 200


def test_credentials_the_fast_path_does_not_take_reach_the_route(
    db: Database, workspace: dict[str, str], uncached: tuple[TestClient, TestClient], outcomes: list[bool]
) -> None:
    fast, route = uncached
    url = f"{API}/failures"
    cases: list[dict[str, str]] = [
        {},  # nobody: 401
        {"Authorization": "Bearer ll_not-a-token"},  # unknown: 401 from the check, then the route
        {"Authorization": "Bearer nonsense"},
        {"Authorization": "Basic dXNlcjpwYXNz"},  # not a bearer
        {"Authorization": f"Bearer {workspace['ana']}", "Content-Length": "2"},  # a body on a GET
    ]
    for headers in cases:
        got = fast.request(
            "GET", url, headers=headers, content=b"{}" if "Content-Length" in headers else None
        )
        want = route.request(
            "GET", url, headers=headers, content=b"{}" if "Content-Length" in headers else None
        )
        _same(got, want)
    assert [fast.get(url, headers=h).status_code for h in cases[:4]] == [401, 401, 401, 401]
    assert not any(outcomes)
    # a revoked token: refused by both, the fast path leaving it to the route
    with db.unit(actor="test") as session:
        from sqlalchemy import select

        from lessonloop.accounts.crypto import digest
        from lessonloop.accounts.models import ApiToken

        token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(workspace["dee"])))
        assert token is not None
        revoke_token(session, token.person, token.id)
    headers = {"Authorization": f"Bearer {workspace['dee']}"}
    got, want = fast.get(url, headers=headers), route.get(url, headers=headers)
    _same(got, want)
    assert got.status_code == 401


def test_a_token_whose_use_is_due_to_be_written_goes_to_the_route(
    db: Database, workspace: dict[str, str], uncached: tuple[TestClient, TestClient], outcomes: list[bool]
) -> None:
    """The fast path only reads: a token never used, or last used a while ago, is checked by the
    route, which writes when it was used; the next request is the fast path's again."""
    from sqlalchemy import select

    from lessonloop.accounts.crypto import digest
    from lessonloop.accounts.models import ApiToken

    fast, _route = uncached

    def last_used() -> Any:
        with db.unit(actor="test") as session:
            return session.scalar(
                select(ApiToken.last_used_at).where(ApiToken.token_hash == digest(workspace["loner"]))
            )

    assert last_used() is None
    headers = {"Authorization": f"Bearer {workspace['loner']}"}
    first, second = fast.get(f"{API}/failures", headers=headers), fast.get(f"{API}/failures", headers=headers)
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.content == second.content
    assert last_used() is not None
    assert outcomes == [False, True]


def test_a_replaced_sign_in_is_honoured_by_going_to_the_route(
    workspace: dict[str, str], uncached: tuple[TestClient, TestClient], outcomes: list[bool]
) -> None:
    """Authentication stays one function: with ``current_actor`` overridden the route answers."""
    from lessonloop.api.deps import current_actor

    fast, _route = uncached
    headers = {"Authorization": f"Bearer {workspace['ana']}"}
    ok = fast.get(f"{API}/failures", headers=headers)  # written: the next one is the fast path's
    assert fast.get(f"{API}/failures", headers=headers).content == ok.content
    app = fast.app
    assert isinstance(app, FastAPI)
    app.dependency_overrides[current_actor] = lambda: "someone else"
    try:
        assert fast.get(f"{API}/failures", headers=headers).status_code == 200
    finally:
        app.dependency_overrides.clear()
    assert outcomes == [False, True, False]


def test_with_answers_kept_the_fast_path_keeps_them_as_the_route_does(
    workspace: dict[str, str], cached: tuple[TestClient, TestClient], outcomes: list[bool]
) -> None:
    fast, route = cached
    headers = {"Authorization": f"Bearer {workspace['ana']}"}
    url = f"{API}/failures?page_size=5&status=observed"
    first, again = fast.get(url, headers=headers), fast.get(url, headers=headers)
    assert (first.headers["x-cache"], again.headers["x-cache"]) == ("miss", "hit")
    assert first.content == again.content
    want = route.get(url, headers=headers)
    assert (want.status_code, want.content) == (200, first.content)
    assert outcomes == [True, True]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (b"", {}),
        (b"page=2&page_size=10", {"page": 2, "page_size": 10}),
        (b"team=Growth&label=%C3%84pfel", {"team": "Growth", "label": "Äpfel"}),
        (b"status=observed&kind=skipped-check&severity=high", None),  # checked below, as enums
        (b"page=01", {"page": 1}),  # what pydantic reads too
        (b"page=1&page=1", None),
        (b"page=", None),
        (b"page=+1", None),
        (b"page=1e2", None),
        (b"until=2026-01-01", None),
        (b"other=1", None),
        (b"status=nope", None),
    ],
)
def test_plain_query(query: bytes, expected: dict[str, Any] | None) -> None:
    got = plain_query(query)
    if query.startswith(b"status=observed"):
        assert got is not None
        assert {k: v.value for k, v in got.items()} == {
            "status": "observed",
            "kind": "skipped-check",
            "severity": "high",
        }
    else:
        assert got == expected


def test_the_fast_path_sits_inside_the_headers_and_limits() -> None:
    """Innermost of the app's own middlewares: its answers get the security headers too."""
    app = create_app(Settings(database_url="sqlite://"))
    names = [m.cls for m in app.user_middleware]
    assert names[-1] is FailureListFastPath
    assert list_fast_path.FailureListFastPath is FailureListFastPath
