"""The per-address sign-in throttle, with a controllable clock."""

from __future__ import annotations

from lessonloop.accounts.throttle import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_limit_is_per_address_and_the_window_slides() -> None:
    clock = Clock()
    throttle = LoginThrottle(max_failures=3, window_s=60, clock=clock)
    for _ in range(3):
        assert throttle.retry_after("10.0.0.1") == 0
        throttle.failed("10.0.0.1")
        clock.now += 10
    assert throttle.retry_after("10.0.0.1") == 30  # the first failure ages out at 1060
    assert throttle.retry_after("10.0.0.2") == 0  # another address is unaffected
    clock.now += 30
    assert throttle.retry_after("10.0.0.1") == 0


def test_a_success_clears_the_count() -> None:
    throttle = LoginThrottle(max_failures=2, window_s=60, clock=Clock())
    throttle.failed("a")
    throttle.succeeded("a")
    throttle.failed("a")
    assert throttle.retry_after("a") == 0


def test_memory_is_bounded_under_many_addresses() -> None:
    throttle = LoginThrottle(max_failures=2, window_s=60, clock=Clock(), max_keys=100)
    for n in range(1000):
        throttle.failed(f"addr-{n}")
    assert len(throttle._failures) <= 100
