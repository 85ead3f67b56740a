"""The benches' percentile: nearest rank, whatever order the times come in."""

from __future__ import annotations

import math


def test_percentile_does_not_depend_on_the_order_of_the_times() -> None:
    from bench.load import percentile

    in_fetch_order = [12.0, 90.0, 11.0, 10.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 9.0]
    # Nearest rank of 12 values: p95 is the 12th smallest, p50 the 6th.
    assert percentile(in_fetch_order, 95) == 90.0
    assert percentile(in_fetch_order, 50) == 14.0
    assert percentile(sorted(in_fetch_order, reverse=True), 50) == 14.0
    assert percentile([3.0], 95) == 3.0
    assert math.isnan(percentile([], 95))
