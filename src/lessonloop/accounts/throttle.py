"""Sign-in attempts per client address: a sliding window kept in memory.

Why both this and the per-account lockout (``service.sign_in``): the lockout stops guessing one
person's password, but an attacker who tries one common password against *every* handle never
locks anyone. Counting failed attempts per client address stops that, and a client that reaches
the limit is told when to come back (HTTP 429 with ``Retry-After``).

Why in memory: one ``lessonloop serve`` process holds the window. Several processes behind a
load balancer each keep their own, which multiplies the allowance by the process count but never
lets anyone through unlimited; a shared store (Redis) is the next step if that matters.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

#: Failed sign-ins allowed per client address within :data:`WINDOW_S` seconds.
MAX_FAILURES = 20
WINDOW_S = 15 * 60.0


class LoginThrottle:
    """Count failed sign-ins per key (the client address); thread-safe."""

    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        window_s: float = WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.clock = clock
        self.max_keys = max_keys  # bounds memory under a flood of distinct addresses
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after(self, key: str) -> int:
        """0 when ``key`` may try now; otherwise the seconds until its oldest failure ages out."""
        with self._lock:
            now = self.clock()
            times = self._recent(key, now)
            if len(times) < self.max_failures:
                return 0
            return max(1, int(times[0] + self.window_s - now + 0.999))

    def failed(self, key: str) -> None:
        with self._lock:
            now = self.clock()
            times = self._recent(key, now)
            if not times:
                if len(self._failures) >= self.max_keys:
                    self._failures.pop(next(iter(self._failures)))  # forget the oldest key
                self._failures[key] = times
            times.append(now)

    def succeeded(self, key: str) -> None:
        """A correct password from this address clears its count (a typo is not an attack)."""
        with self._lock:
            self._failures.pop(key, None)
