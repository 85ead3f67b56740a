"""Dates said relative to now, the one way every notification says them.

The clock is injected: callers pass ``now`` (the worker's pass time, a request's time, a test's
fixed moment), so "in 3 days" is the same answer for the same inputs.
"""

from __future__ import annotations

import datetime as dt


def days_until(day: dt.date, *, now: dt.datetime) -> int:
    """Whole days from ``now``'s date (UTC) to ``day``: negative when ``day`` has passed."""
    return (day - now.date()).days


def relative_day(day: dt.date, *, now: dt.datetime) -> str:
    """``day`` as seen from ``now``: "today", "tomorrow", "in 3 days", "yesterday", "8 days ago"."""
    n = days_until(day, now=now)
    if n == 0:
        return "today"
    if n == 1:
        return "tomorrow"
    if n == -1:
        return "yesterday"
    return f"in {n} days" if n > 0 else f"{-n} days ago"


def day_count(n: int) -> str:
    """``n`` days in words: "1 day", "3 days" (the sign dropped)."""
    return "1 day" if abs(n) == 1 else f"{abs(n)} days"
