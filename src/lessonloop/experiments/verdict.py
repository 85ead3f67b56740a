"""An experiment's verdict is computed from its criteria, never typed in."""

from __future__ import annotations

import enum
import operator
from collections.abc import Callable, Sequence

from lessonloop.errors import Invalid


class Verdict(enum.StrEnum):
    passed = "passed"
    failed = "failed"
    inconclusive = "inconclusive"


COMPARATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "=": operator.eq,
    ">": operator.gt,
    "<": operator.lt,
}


def check_comparator(comparator: str) -> str:
    value = str(comparator).strip()
    if value == "==":
        value = "="
    if value not in COMPARATORS:
        raise Invalid(f"must be one of {', '.join(COMPARATORS)} (got {comparator!r})", field="comparator")
    return value


def verdict(comparator: str, threshold: float, values: Sequence[float]) -> Verdict:
    """The latest observation decides: a fix is judged by where the metric stands now.

    No observations yet → inconclusive.
    """
    if not values:
        return Verdict.inconclusive
    compare = COMPARATORS[check_comparator(comparator)]
    return Verdict.passed if compare(values[-1], threshold) else Verdict.failed
