from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lessonloop.errors import Invalid
from lessonloop.experiments.verdict import Verdict, check_comparator, verdict


def test_no_data_is_inconclusive() -> None:
    assert verdict(">=", 0.9, []) == Verdict.inconclusive


@pytest.mark.parametrize(
    ("comparator", "values", "expected"),
    [
        (">=", [0.95], "passed"),
        (">=", [0.9], "passed"),
        (">", [0.9], "failed"),
        ("<=", [3], "passed"),
        ("<", [3], "failed"),
        ("=", [0], "passed"),
        ("==", [1], "failed"),
        (">=", [0.99, 0.5], "failed"),
    ],
)
def test_latest_value_decides(comparator: str, values: list[float], expected: str) -> None:
    threshold = 0.9 if ">" in comparator else (3 if "<" in comparator else 0)
    assert verdict(comparator, threshold, values).value == expected


def test_unknown_comparator() -> None:
    with pytest.raises(Invalid) as err:
        check_comparator("~")
    assert err.value.field == "comparator"


@given(st.floats(allow_nan=False, allow_infinity=False), st.floats(allow_nan=False, allow_infinity=False))
def test_ge_and_lt_are_complements(value: float, threshold: float) -> None:
    assert (verdict(">=", threshold, [value]) == Verdict.passed) != (
        verdict("<", threshold, [value]) == Verdict.passed
    )
