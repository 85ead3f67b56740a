"""Failed sign-ins per account and per client address, kept in the database.

Why both this and the per-account lockout (``service.sign_in``): the lockout stops guessing one
person's password, but an attacker who tries one common password against *every* handle never
locks anyone. Counting failed attempts per client address stops that, and a client that reaches
the limit is told when to come back (HTTP 429 with ``Retry-After``).

The two counts are separate (issue #11, leak 7): a correct password clears the count of the
account it opened, never the client's, so an attacker who owns one account cannot wipe the
address's record by signing in to it between guesses. Each refused attempt is one row of
``sign_in_failures`` (a sliding window over their times), so every server process on the same
database sees the same counts; rows older than the window are deleted as new ones arrive.

The client address is the TCP peer. ``X-Forwarded-For`` is read only when that peer is one of
the configured trusted proxies (``LESSONLOOP_TRUSTED_PROXIES``); anyone else could write any
address there and get a fresh allowance with every request.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Index, Integer, String, delete, func, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from lessonloop.store.base import Base, UTCDateTime

#: Failed sign-ins allowed per client address, and per account name, within :data:`WINDOW`.
MAX_CLIENT_FAILURES = 20
MAX_ACCOUNT_FAILURES = 10
WINDOW = dt.timedelta(minutes=15)

CLIENT = "client"
ACCOUNT = "account"
KEY_LENGTH = 255
UNKNOWN_CLIENT = "unknown"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class SignInFailure(Base):
    """One refused sign-in, counted under ``scope`` (client or account) and ``key``."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (
        Index("ix_sign_in_failures_scope_key_at", "scope", "key", "at"),
        Index("ix_sign_in_failures_at", "at"),  # pruning by age
    )
    __history_skip__ = True  # bookkeeping, not a record anyone changes

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(10))
    key: Mapped[str] = mapped_column(String(KEY_LENGTH))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Wait:
    """How long until another attempt is allowed, and which count ran out (client or account)."""

    seconds: int
    scope: str


def account_key(handle_or_email: str) -> str:
    """The account a sign-in named, as typed (handle or e-mail), case-folded."""
    return (handle_or_email or "").strip().lower()[:KEY_LENGTH]


class LoginThrottle:
    """The limits and the clock; the counts live in the session's database."""

    def __init__(
        self,
        max_failures: int = MAX_CLIENT_FAILURES,
        max_account_failures: int = MAX_ACCOUNT_FAILURES,
        window: dt.timedelta = WINDOW,
        clock: Callable[[], dt.datetime] = _now,
    ) -> None:
        self.max_failures = max_failures  # per client address
        self.max_account_failures = max_account_failures
        self.window = window
        self.clock = clock

    def retry_after(self, session: Session, *, client: str, account: str) -> Wait | None:
        """``None`` when this client may try this account now; otherwise the longer wait."""
        now = self.clock()
        waits = [
            Wait(seconds, scope)
            for scope, key in self._keys(client=client, account=account)
            if (seconds := self._wait(session, scope, key, now))
        ]
        return max(waits, key=lambda w: w.seconds, default=None)

    def failed(self, session: Session, *, client: str, account: str) -> None:
        now = self.clock()
        session.execute(delete(SignInFailure).where(SignInFailure.at <= now - self.window))
        rows = [{"scope": s, "key": k, "at": now} for s, k in self._keys(client=client, account=account)]
        session.execute(insert(SignInFailure), rows)

    def succeeded(self, session: Session, *, account: str) -> None:
        """A correct password clears that account's count (a typo is not an attack); the
        client's count stays, or one owned account would reset an attacker's allowance."""
        key = account_key(account)
        session.execute(delete(SignInFailure).where(SignInFailure.scope == ACCOUNT, SignInFailure.key == key))

    def count(self, session: Session, scope: str, key: str) -> int:
        """Failures of ``key`` within the window (for tests and operators)."""
        since = self.clock() - self.window
        stmt = select(func.count()).where(
            SignInFailure.scope == scope, SignInFailure.key == key[:KEY_LENGTH], SignInFailure.at > since
        )
        return int(session.scalar(stmt) or 0)

    @staticmethod
    def _keys(*, client: str, account: str) -> list[tuple[str, str]]:
        keys = [(CLIENT, (client or UNKNOWN_CLIENT)[:KEY_LENGTH])]
        if account_key(account):
            keys.append((ACCOUNT, account_key(account)))
        return keys

    def _wait(self, session: Session, scope: str, key: str, now: dt.datetime) -> int:
        """0 below the limit; else the seconds until enough failures age out of the window."""
        limit = self.max_failures if scope == CLIENT else self.max_account_failures
        recent = (
            select(SignInFailure.at)
            .where(
                SignInFailure.scope == scope, SignInFailure.key == key, SignInFailure.at > now - self.window
            )
            .order_by(SignInFailure.at.desc())
        )
        # The limit-th newest failure is the one whose ageing out lets the next attempt in.
        pivot = session.scalar(recent.offset(limit - 1).limit(1))
        if pivot is None:
            return 0
        left = (pivot + self.window - now).total_seconds()
        return max(1, int(left + 0.999))


def parse_proxies(entries: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or CIDR blocks (``10.0.0.1``, ``10.0.0.0/8``, ``::1``); ValueError names a bad one."""
    networks = []
    for entry in entries:
        text = entry.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(
                f"LESSONLOOP_TRUSTED_PROXIES: {text!r} is not an IP address or network"
            ) from None
    return tuple(networks)


def _host(hop: str) -> str:
    """An address from one ``X-Forwarded-For`` entry, without a port or IPv6 brackets."""
    hop = hop.strip()
    if hop.startswith("[") and "]" in hop:
        return hop[1 : hop.index("]")]
    if hop.count(":") == 1:  # IPv4 with a port; bare IPv6 has several colons
        return hop.split(":", 1)[0]
    return hop


def _is_trusted(host: str, proxies: Sequence[Network]) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in proxies)


def client_address(peer: str | None, forwarded_for: Sequence[str], proxies: Sequence[Network]) -> str:
    """The address to count a sign-in against.

    The TCP ``peer`` unless it is a trusted proxy; then the nearest ``X-Forwarded-For`` hop that
    is not a trusted proxy (each proxy appends the address it saw, so hops further left were
    written by the client and prove nothing).
    """
    if not peer:
        return UNKNOWN_CLIENT
    if not proxies or not _is_trusted(peer, proxies):
        return peer
    hops = [_host(hop) for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, proxies):
            return hop[:KEY_LENGTH]
    return hops[0][:KEY_LENGTH] if hops else peer
