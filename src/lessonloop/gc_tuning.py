"""The cycle collector's schedule for a long-running server (decision 63).

Measured with ``bench/pages.py`` at 100k failures on PostgreSQL and a probe on ``gc.callbacks``:
the server ran a full collection every one to three seconds, each walking every tracked object of
the process (350,000-460,000: kept statements, caches, the app itself) for 200-490 ms, landing on
whichever request was running. That was the p95 of most pages (the teams page: p50 11 ms, p95
276 ms, 2 ms of it in the database).

What survives a full collection is, nearly all of it, what the process keeps (caches, kept
statements, the app); the requests' garbage is what each full collection frees. So after every
full collection the survivors are frozen (:func:`gc.freeze`, the permanent generation): the next
full collection walks only what was promoted since. Frozen objects that later become cyclic
garbage (an evicted cache entry) are not freed until the next :data:`THAW_SECONDS` pass, which
unfreezes everything once and lets the next full collection see the whole heap again.

Only ``lessonloop serve`` installs this (tests, imports and the CLI keep CPython's default);
reference counting still frees almost everything at once, the schedule of young collections is
CPython's own.
"""

from __future__ import annotations

import gc
import threading
import time
from typing import Any

THAW_SECONDS = 600.0

_lock = threading.Lock()
_installed = False
_last_thaw = 0.0


def _after_collection(phase: str, info: dict[str, Any]) -> None:
    global _last_thaw
    if phase != "stop" or info.get("generation") != 2:
        return
    now = time.monotonic()
    if now - _last_thaw >= THAW_SECONDS:
        # Once in a while: everything unfrozen, so the next full collection sees the whole heap
        # (and frees cyclic garbage that was frozen while it was still alive).
        _last_thaw = now
        gc.unfreeze()
    else:
        gc.freeze()


def install() -> None:
    """Freeze the survivors of every full collection (idempotent)."""
    global _installed, _last_thaw
    with _lock:
        if _installed:
            return
        _installed = True
        _last_thaw = time.monotonic()
        gc.callbacks.append(_after_collection)


def uninstall() -> None:
    """Undo :func:`install` and unfreeze (for tests; a server never needs it)."""
    global _installed
    with _lock:
        if _after_collection in gc.callbacks:
            gc.callbacks.remove(_after_collection)
        _installed = False
        gc.unfreeze()
