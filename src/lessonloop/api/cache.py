"""Answers kept while the data they were computed from is unchanged.

A list page of 50 failures costs ~15–20 ms of server CPU at 100k failures (the visible count,
the rows, 60 KB of JSON); a dashboard, a script polling for new failures or a team opening the
same list asks for it again and again between two writes. So a ``GET`` list answer is kept under
a key that holds the database's data version (:mod:`lessonloop.store.version`: it changes with
every commit, by any process), who asked (person, org-admin flag and team roles: the visibility
rules' inputs) and the request's path and query. Any write anywhere makes every kept answer
unreachable; they then age out of the LRU. Nothing is kept when the version cannot be known.

The same version keys the bearer-token check (:func:`lessonloop.api.deps.current_principal`): a
token revoked, an account locked or a membership changed is a commit, so the next request reads
the database again.

``LESSONLOOP_API_CACHE=0`` turns both off (``Settings.api_cache``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from fastapi import Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from lessonloop.access.viewer import Viewer

V = TypeVar("V")


class LruCache(Generic[V]):
    """A thread-safe LRU map bounded by entries and by a total ``size`` of its values."""

    def __init__(self, max_entries: int, max_size: int | None = None) -> None:
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()
        self._max_entries = max_entries
        self._max_size = max_size
        self._size = 0
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return item[0]

    def put(self, key: Hashable, value: V, size: int = 1) -> None:
        if self._max_size is not None and size > self._max_size:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= old[1]
            self._items[key] = (value, size)
            self._size += size
            while self._items and (
                len(self._items) > self._max_entries
                or (self._max_size is not None and self._size > self._max_size)
            ):
                _key, (_value, dropped) = self._items.popitem(last=False)
                self._size -= dropped

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._size = 0

    def __len__(self) -> int:
        return len(self._items)


class ResponseCache(LruCache[bytes]):
    """JSON bodies of ``GET`` answers (at most 256 of them, 32 MB together)."""

    def __init__(self, max_entries: int = 256, max_bytes: int = 32 * 1024 * 1024) -> None:
        super().__init__(max_entries, max_bytes)


def viewer_key(viewer: Viewer) -> Hashable:
    """What the visibility rules read of a viewer: two viewers with the same key see the same."""
    return (viewer.person_id, viewer.is_admin, tuple(sorted(viewer.roles.items())))


async def cached_json(request: Request, viewer: Viewer, compute: Callable[[], BaseModel | bytes]) -> Response:
    """The JSON of ``compute()``, kept for the same data version, viewer, path and query.

    A kept answer is sent from the event loop, with no thread-pool hop; otherwise ``compute``
    runs in the thread pool (it opens its own unit of work there: one thread for the whole unit,
    see ``api/one_thread.py``) and the JSON is made there too. The version is the one read
    before any of this request's reads (see :mod:`lessonloop.store.version`). The body is what
    FastAPI would send for the model (by alias, compact), or the bytes ``compute`` wrote itself
    (the failure list: ``api.common.page_json``); ``X-Cache`` says ``hit`` or ``miss``.
    """
    cache: ResponseCache | None = request.app.state.response_cache
    key: Hashable | None = None
    if cache is not None and request.method == "GET":
        # The version read when the caller was signed in (before any of this request's reads),
        # else now. An earlier read is as good: the answer is then newer than its key, never older.
        version = getattr(request.state, "data_version", None) or request.app.state.db.data_version()
        if version is not None:
            key = (
                version,
                request.url.path,
                tuple(sorted(request.query_params.multi_items())),
                viewer_key(viewer),
            )
            kept = cache.get(key)
            if kept is not None:
                return json_response(kept, hit=True)

    def run() -> bytes:
        answer = compute()
        return answer if isinstance(answer, bytes) else answer.model_dump_json(by_alias=True).encode()

    body = await run_in_threadpool(run)
    if cache is not None and key is not None:
        cache.put(key, body, len(body))
    return json_response(body, hit=False)


def json_response(body: bytes, *, hit: bool) -> Response:
    """A JSON body as :func:`cached_json` sends it, ``X-Cache`` saying whether it was kept."""
    return Response(body, media_type="application/json", headers={"X-Cache": "hit" if hit else "miss"})
