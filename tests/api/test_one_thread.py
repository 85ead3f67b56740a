"""OneThreadRoute: a request's unit of work is opened, used and closed on one thread.

Why it matters: a SQLAlchemy session that hopped threads crashed CPython 3.11 under load
(docs/performance.md). These tests fire many requests at once, so the thread pool really has
several threads, and check each request stayed on one of them.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request

from lessonloop.api.one_thread import InRequestThread, OneThreadRoute, in_one_thread

SEEN: dict[str, dict[str, int]] = {}


def unit(request: Request) -> Iterator[str]:
    key = request.headers["x-key"]
    SEEN[key] = {"open": threading.get_ident()}
    try:
        yield key
    finally:
        SEEN[key]["close"] = threading.get_ident()


Unit = Annotated[str, InRequestThread(unit)]


def _app() -> FastAPI:
    router = APIRouter(route_class=OneThreadRoute)

    @router.get("/work/{n}")
    def work(n: int, key: Unit) -> dict[str, int]:
        SEEN[key]["use"] = threading.get_ident()
        threading.Event().wait(0.002)  # hold the thread a little so requests overlap
        return {"n": n}

    @router.get("/boom")
    def boom(key: Unit) -> dict[str, int]:
        raise RuntimeError("endpoint failed")

    @router.delete("/gone", status_code=204)
    def gone(key: Unit) -> None:
        return None

    app = FastAPI()
    app.include_router(router)
    return app


async def _fire(app: FastAPI, count: int) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await asyncio.gather(
            *(client.get(f"/work/{i}", headers={"x-key": f"k{i}"}) for i in range(count))
        )


def test_each_request_stays_on_one_thread_under_concurrency() -> None:
    SEEN.clear()
    responses = asyncio.run(_fire(_app(), 64))
    assert [r.json()["n"] for r in responses] == list(range(64))
    assert len(SEEN) == 64
    for ids in SEEN.values():
        assert ids["open"] == ids["use"] == ids["close"]
    # The pool did use several threads, so the check above was not trivially true.
    assert len({ids["use"] for ids in SEEN.values()}) > 1


def test_an_error_in_the_endpoint_still_closes_the_unit_on_its_thread() -> None:
    SEEN.clear()
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.get("/boom", headers={"x-key": "b"})

    assert asyncio.run(go()).status_code == 500
    assert SEEN["b"]["open"] == SEEN["b"]["close"]


def test_the_schema_hides_the_unit_and_keeps_the_endpoint_parameters() -> None:
    schema = _app().openapi()
    params = schema["paths"]["/work/{n}"]["get"]["parameters"]
    assert [p["name"] for p in params] == ["n"]
    assert "responses" in schema["paths"]["/gone"]["delete"]
    assert "204" in schema["paths"]["/gone"]["delete"]["responses"]


def test_endpoints_without_a_unit_are_left_alone_and_async_ones_are_refused() -> None:
    def plain(n: int) -> int:
        return n

    assert in_one_thread(plain) is plain

    async def bad(key: Unit) -> None:
        return None

    with pytest.raises(TypeError, match="async endpoint"):
        in_one_thread(bad)
