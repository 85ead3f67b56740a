"""What both backends' postings share (decision 72): when a term has postings, when a search
uses them and how it reads its candidates, and the per-process cache of decoded postings.
:mod:`lessonloop.store.postings` (PostgreSQL, and the tail, the build and the job for both) and
:mod:`lessonloop.store.postings_fts5` (SQLite) read these at call time, so a test may change
them."""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

#: A term gets postings when more documents than this have it; a search with a rarer term ranks
#: its (at most this many) matches directly, which costs about what the postings would.
MIN_DF = 1000
#: More documents written since the build than this, and a search does not use the postings
#: (it would score all those exactly first); the job builds them again long before.
TAIL_LIMIT = 2000
#: The job builds every postings list again when more documents than this wait in the tail.
REBUILD_AT = 500
#: Documents scored per statement: at least this many, or the page times :data:`BATCH_PER_RESULT`
#: (some will not be the viewer's to see); doubled each round.
BATCH = 200
BATCH_PER_RESULT = 4
#: Rounds of scoring before giving up for the full ranking (a viewer who may see few documents).
ROUNDS = 4


#: Decoded postings kept per process, keyed by the build that wrote them (a new build, a new
#: key: nothing to invalidate), least recently used out first past this many bytes. A frequent
#: term's postings are read again by most searches that name it (1.8 MB for "us-east-1"'s three
#: terms at 100k, ~8 ms to read), and change only when the job builds them all again.
CACHE_BYTES = 64 << 20
_CACHE: OrderedDict[tuple[str, str], tuple[np.ndarray, ...]] = OrderedDict()
_CACHE_SIZE = [0]
_CACHE_LOCK = threading.Lock()


def cached(generation: str, term: str) -> tuple[np.ndarray, ...] | None:
    with _CACHE_LOCK:
        found = _CACHE.get((generation, term))
        if found is not None:
            _CACHE.move_to_end((generation, term))
        return found


def keep(generation: str, term: str, postings: tuple[np.ndarray, ...]) -> None:
    size = sum(a.nbytes for a in postings)
    if size > CACHE_BYTES:
        return
    with _CACHE_LOCK:
        if (generation, term) in _CACHE:
            return
        _CACHE[(generation, term)] = postings
        _CACHE_SIZE[0] += size
        while _CACHE_SIZE[0] > CACHE_BYTES:
            _key, dropped = _CACHE.popitem(last=False)
            _CACHE_SIZE[0] -= sum(a.nbytes for a in dropped)


def clear_cache() -> None:
    with _CACHE_LOCK:
        _CACHE.clear()
        _CACHE_SIZE[0] = 0
