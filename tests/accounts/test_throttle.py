"""The sign-in throttle: per account and per client, in the database, with a controllable clock."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from lessonloop.accounts.throttle import (
    ACCOUNT,
    CLIENT,
    LoginThrottle,
    SignInFailure,
    Wait,
    client_address,
    parse_proxies,
)
from lessonloop.settings import Settings, get_settings
from lessonloop.store.engine import Database


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def _throttle(clock: Clock, *, client: int = 3, account: int = 3) -> LoginThrottle:
    return LoginThrottle(
        max_failures=client, max_account_failures=account, window=dt.timedelta(seconds=60), clock=clock
    )


def test_the_client_limit_holds_across_accounts_and_the_window_slides(db: Database) -> None:
    clock = Clock()
    throttle = _throttle(clock)
    with db.unit() as session:
        for handle in ("ana", "ben", "cara"):  # one password against many handles
            assert throttle.retry_after(session, client="10.0.0.1", account=handle) is None
            throttle.failed(session, client="10.0.0.1", account=handle)
            clock.advance(10)
        assert throttle.retry_after(session, client="10.0.0.1", account="dana") == Wait(30, CLIENT)
        assert throttle.retry_after(session, client="10.0.0.2", account="dana") is None
        clock.advance(30)  # the first failure (at 0 s) ages out at 60 s
        assert throttle.retry_after(session, client="10.0.0.1", account="dana") is None


def test_the_account_limit_holds_across_clients(db: Database) -> None:
    clock = Clock()
    throttle = _throttle(clock, client=10, account=3)
    with db.unit() as session:
        for n in range(3):  # one account guessed from three addresses
            throttle.failed(session, client=f"10.0.0.{n}", account="Ben ")
        wait = throttle.retry_after(session, client="10.9.9.9", account="ben")
        assert wait is not None and wait.scope == ACCOUNT
        assert throttle.retry_after(session, client="10.9.9.9", account="ana") is None


def test_a_success_clears_the_account_count_but_never_the_client_count(db: Database) -> None:
    """Leak 7: an attacker who owns one account must not wipe the address's record with it."""
    clock = Clock()
    throttle = _throttle(clock, client=3, account=3)
    with db.unit() as session:
        throttle.failed(session, client="10.0.0.1", account="ben")
        throttle.failed(session, client="10.0.0.1", account="ana")
        throttle.failed(session, client="10.0.0.1", account="mallory")
        throttle.succeeded(session, account="mallory")  # the attacker's own account
        assert throttle.count(session, ACCOUNT, "mallory") == 0
        assert throttle.count(session, CLIENT, "10.0.0.1") == 3
        assert throttle.retry_after(session, client="10.0.0.1", account="cara") == Wait(60, CLIENT)


def test_old_failures_are_deleted_as_new_ones_arrive(db: Database) -> None:
    clock = Clock()
    throttle = _throttle(clock)
    with db.unit() as session:
        throttle.failed(session, client="10.0.0.1", account="ben")
        clock.advance(61)
        throttle.failed(session, client="10.0.0.2", account="ana")
        assert session.scalar(select(func.count()).select_from(SignInFailure)) == 2  # ana's two rows


def test_two_server_processes_share_the_counts(db: Database) -> None:
    """Another Database on the same file or PostgreSQL database sees every failure."""
    clock = Clock()
    throttle = _throttle(clock, client=2)
    other = Database.open(Settings(database_url=db.settings.database_url), migrate=False)
    try:
        with db.unit() as session:
            throttle.failed(session, client="10.0.0.1", account="ben")
        with other.unit() as session:
            throttle.failed(session, client="10.0.0.1", account="ana")
        with db.unit() as session:
            assert throttle.retry_after(session, client="10.0.0.1", account="cara") is not None
        with other.unit() as session:
            assert throttle.count(session, CLIENT, "10.0.0.1") == 2
    finally:
        other.close()


PROXIES = parse_proxies(["10.0.0.5", "192.168.0.0/16"])


def test_x_forwarded_for_from_an_untrusted_peer_is_ignored() -> None:
    assert client_address("203.0.113.9", ["1.2.3.4"], PROXIES) == "203.0.113.9"
    assert client_address("127.0.0.1", ["1.2.3.4"], ()) == "127.0.0.1"  # loopback is not trusted


def test_x_forwarded_for_from_a_trusted_proxy_is_used() -> None:
    assert client_address("10.0.0.5", ["198.51.100.7"], PROXIES) == "198.51.100.7"
    # The client wrote the leftmost entry itself: the nearest untrusted hop counts.
    assert client_address("10.0.0.5", ["6.6.6.6, 198.51.100.7, 192.168.1.2"], PROXIES) == "198.51.100.7"
    assert client_address("10.0.0.5", ["198.51.100.7:4711"], PROXIES) == "198.51.100.7"
    assert client_address("10.0.0.5", [], PROXIES) == "10.0.0.5"
    assert client_address(None, [], PROXIES) == "unknown"


def test_the_trusted_proxies_setting() -> None:
    assert get_settings({}).trusted_proxies == ()
    env = {"LESSONLOOP_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8,::1"}
    assert get_settings(env).trusted_proxies == ("127.0.0.1", "10.0.0.0/8", "::1")
    with pytest.raises(ValueError, match="LESSONLOOP_TRUSTED_PROXIES"):
        get_settings({"LESSONLOOP_TRUSTED_PROXIES": "proxy.internal"})
