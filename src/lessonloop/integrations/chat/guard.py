"""Every connection apprise opens, vetted: the SSRF rules of :mod:`lessonloop.outbound` for a
library that does its own HTTP (``requests`` over ``urllib3``).

Checking the URL before handing it to apprise would not be enough: ``requests`` resolves the name
again (DNS rebinding), and a plugin may reach a host of its own making or follow a redirect. So,
while :func:`guarded` is active **on the sending thread**, urllib3's ``create_connection`` is
replaced by one that resolves the host within the deadline, refuses it when any address is not
public (unless allow-listed), and connects to the vetted address itself — the name still goes in
``Host`` and TLS SNI, as urllib3 builds those from the URL, not the socket. Other threads, and this
one outside the block, get urllib3's own function unchanged.

A watchdog shuts every socket of the block when one overall deadline passes, so a receiver that
answers a byte at a time cannot hold a sender (``requests`` only bounds each read).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import urllib3.util.connection as urllib3_connection

from lessonloop import outbound

_local = threading.local()
_install_lock = threading.Lock()
_original: Any = None


@dataclass
class Guard:
    """One guarded send: its rules, its deadline, and what happened (for the error message)."""

    allow: outbound.AllowList
    deadline: float  # time.monotonic()
    # Host → addresses already vetted for this send: used as they are, not resolved again.
    pinned: dict[str, list[outbound.IPAddress]] = field(default_factory=dict)
    refused: str | None = None  # the first refusal ("target not allowed: …")
    unreachable: str | None = None
    expired: threading.Event = field(default_factory=threading.Event)
    sockets: list[socket.socket] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def cut(self) -> None:
        """The deadline passed: end whatever read or write is blocked."""
        self.expired.set()
        with self.lock:
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


def _vetted_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
    guard: Guard | None = getattr(_local, "guard", None)
    if guard is None:
        return _original(address, *args, **kwargs)
    if guard.expired.is_set():
        raise OSError("the deadline passed")
    host, port = address
    named = f"[{host}]" if ":" in host else host
    try:
        addresses = guard.pinned.get(host.lower().rstrip(".")) or outbound.vetted_addresses(
            f"http://{named}:{port}/", guard.allow, outbound.seconds_left(guard.deadline)
        )
    except outbound.TargetRefused as exc:
        guard.refused = guard.refused or str(exc)
        raise OSError(str(exc)) from None
    except outbound.OutboundError as exc:
        guard.unreachable = guard.unreachable or str(exc)
        raise OSError(str(exc)) from None
    last: OSError | None = None
    for ip in addresses:
        try:
            sock: socket.socket = _original((str(ip), port), *args, **kwargs)
        except OSError as exc:
            last = exc
            continue
        with guard.lock:
            guard.sockets.append(sock)
        if guard.expired.is_set():
            guard.cut()
        return sock
    raise last or OSError(f"cannot connect to {host}")


def _install() -> None:
    global _original
    with _install_lock:
        if _original is None:
            _original = urllib3_connection.create_connection
            urllib3_connection.create_connection = _vetted_connection


@contextlib.contextmanager
def guarded(
    allow: outbound.AllowList,
    timeout: float,
    pinned: dict[str, list[outbound.IPAddress]] | None = None,
) -> Iterator[Guard]:
    """Vet every connection opened on this thread inside the block; all within ``timeout``.

    ``pinned``: hosts already checked for this send and the addresses to connect to, so a name
    is resolved once (a second answer could differ: DNS rebinding)."""
    _install()
    guard = Guard(allow=allow, deadline=time.monotonic() + timeout, pinned=dict(pinned or {}))
    previous = getattr(_local, "guard", None)
    _local.guard = guard
    watchdog = threading.Timer(timeout, guard.cut)
    watchdog.daemon = True
    watchdog.start()
    try:
        yield guard
    finally:
        watchdog.cancel()
        _local.guard = previous
