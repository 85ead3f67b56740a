"""Outgoing HTTP (httpx): one request under one overall deadline, and the rules for a target
that a user typed in.

Why one deadline for the whole request: httpx's timeouts bound each socket operation, so a
server that answers one byte every few seconds could hold a worker for as long as it likes.
Each request here runs under ``asyncio.timeout``: resolving, connecting, sending and reading the
answer together end within ``timeout`` seconds, and a cancelled request closes its connection.

Why target rules (SSRF): a webhook URL is typed by any signed-in person, and the worker sends
from inside the network. Without rules a person could make the worker ``POST`` to the cloud
metadata service (169.254.169.254), an admin port on loopback or a database on the office LAN.
So a target is refused when any address its name resolves to is not a public unicast address,
unless an operator listed the host or address (``LESSONLOOP_WEBHOOK_ALLOW_HOSTS``). The check
runs at send time on the addresses the request then connects to (the URL's host is replaced by
the vetted address; ``Host`` and TLS SNI keep the name), so a name that resolves to a public
address when checked and to 127.0.0.1 a moment later (DNS rebinding) cannot slip through.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
LOOPBACK_NAMES = ("localhost", "localhost.localdomain")


class TargetRefused(Exception):
    """The target is not allowed (the message says which address and why, for the operator)."""


class OutboundError(Exception):
    """The request did not get an answer: unreachable, timed out, or the answer was too large."""


class DeadlineExceeded(OutboundError):
    """No complete answer within the deadline."""


# --- which targets are allowed -----------------------------------------------------------------


@dataclass(frozen=True)
class AllowList:
    """Hosts and addresses an operator allows despite the rules: names (``hooks.internal``),
    addresses (``127.0.0.1``, ``::1``) and networks (``10.1.0.0/16``)."""

    names: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        names: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip().strip("[]").lower().rstrip(".")
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                names.add(entry)
        return cls(frozenset(names), tuple(networks))

    def allows_name(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.names

    def allows_address(self, address: IPAddress) -> bool:
        return any(address in net for net in self.networks)


def refusal(address: IPAddress) -> str | None:
    """Why this address is not a public unicast address, or ``None`` when it is one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    for kind in ("loopback", "link_local", "multicast", "unspecified", "reserved", "private"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    # Shared (100.64/10, carrier-grade NAT and some clouds' metadata), documentation ranges …
    if not address.is_global:
        return "not-global"
    return None


def check_address(address: IPAddress, allow: AllowList) -> None:
    reason = refusal(address)
    if reason is not None and not allow.allows_address(address):
        raise TargetRefused(f"target not allowed: {address} is a {reason} address")


def literal_address(host: str) -> IPAddress | None:
    """The address ``host`` spells without asking DNS (``127.0.0.1``, ``::1``, also the old
    forms ``127.1`` and ``2130706433`` that resolvers accept), else ``None``."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError, ValueError):
        return None
    return ipaddress.ip_address(infos[0][4][0]) if infos else None


def check_host_without_dns(host: str, allow: AllowList) -> None:
    """The part of the rules that needs no DNS (used when a URL is saved): literal addresses and
    the loopback names. A name is checked again, resolved, every time something is sent to it."""
    if allow.allows_name(host):
        return
    name = host.lower().rstrip(".")
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        raise TargetRefused(f"target not allowed: {host} is a loopback name")
    address = literal_address(host)
    if address is not None:
        check_address(address, allow)


def resolve(host: str, port: int, timeout: float) -> list[IPAddress]:
    """Every address ``host`` resolves to, within ``timeout`` seconds.

    ``getaddrinfo`` has no timeout of its own, so it runs in a daemon thread that is given up
    on (it ends with the resolver's own timeout) when the deadline passes.
    """
    found: list[Any] = []
    failed: list[BaseException] = []

    def lookup() -> None:
        try:
            found.extend(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except (OSError, UnicodeError) as exc:
            failed.append(exc)

    thread = threading.Thread(target=lookup, name=f"resolve {host}", daemon=True)
    thread.start()
    thread.join(max(timeout, 0.0))
    if thread.is_alive():
        raise OutboundError(f"resolving {host} took longer than {timeout:.0f}s")
    if failed or not found:
        raise OutboundError(f"cannot resolve {host}: {failed[0] if failed else 'no address'}")
    addresses: list[IPAddress] = []
    for info in found:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])  # drop an IPv6 zone id
        if address not in addresses:
            addresses.append(address)
    return addresses


def vetted_addresses(url: str, allow: AllowList, timeout: float) -> list[IPAddress]:
    """The addresses to connect to for ``url``; :class:`TargetRefused` if any one is not allowed.

    A listed host name allows whatever it resolves to (the operator vouched for the name).
    """
    parsed = httpx.URL(url)
    host = parsed.host
    check_host_without_dns(host, allow)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    addresses = resolve(parsed.raw_host.decode("ascii"), port, timeout)  # IDNA as httpx sends it
    if not allow.allows_name(host):
        for address in addresses:
            check_address(address, allow)
    return addresses


# --- one request -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    headers: httpx.Headers
    body: bytes


def request(
    method: str,
    url: str,
    *,
    timeout: float,
    headers: Mapping[str, str] | None = None,
    content: bytes | None = None,
    connect_to: Sequence[IPAddress] = (),
    max_body: int = 0,
    trust_env: bool = False,
) -> Answer:
    """Send one request and return its answer (any status), all within ``timeout`` seconds.

    ``connect_to``: connect to these addresses (in order, the next one when a connection is
    refused) instead of resolving the URL's host again; the name still goes in ``Host`` and SNI.
    ``max_body``: read at most this many bytes of the answer (0: only the status and headers).
    ``trust_env``: honour proxy variables (never for user-given targets: a proxy would connect
    to the target itself, around the address check).
    Raises :class:`OutboundError` when no answer came.
    """
    try:
        return asyncio.run(
            _request_within(
                method,
                url,
                timeout=timeout,
                headers=dict(headers or {}),
                content=content,
                connect_to=connect_to,
                max_body=max_body,
                trust_env=trust_env,
            )
        )
    except TimeoutError:
        raise DeadlineExceeded(f"no answer within {timeout:.3g}s") from None
    except httpx.HTTPError as exc:
        raise OutboundError(f"unreachable: {exc or type(exc).__name__}") from None


async def _request_within(
    method: str,
    url: str,
    *,
    timeout: float,
    headers: dict[str, str],
    content: bytes | None,
    connect_to: Sequence[IPAddress],
    max_body: int,
    trust_env: bool,
) -> Answer:
    async with asyncio.timeout(timeout):
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=trust_env) as client:
            targets: list[IPAddress | None] = list(connect_to) or [None]
            for i, address in enumerate(targets):
                req = _pinned(client, method, url, headers, content, address)
                try:
                    return await _send(client, req, max_body)
                except httpx.ConnectError:
                    if i == len(targets) - 1:
                        raise
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def _pinned(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    headers: dict[str, str],
    content: bytes | None,
    address: IPAddress | None,
) -> httpx.Request:
    """The request, sent to ``address`` when given while naming the URL's host."""
    target = httpx.URL(url)
    if address is None:
        return client.build_request(method, target, headers=headers, content=content)
    extensions: dict[str, Any] = {}
    if target.scheme == "https":
        extensions["sni_hostname"] = target.host  # the certificate is checked against the name
    pinned = target.copy_with(host=str(address))
    host_header = target.netloc.decode("ascii")
    return client.build_request(
        method, pinned, headers={**headers, "Host": host_header}, content=content, extensions=extensions
    )


async def _send(client: httpx.AsyncClient, req: httpx.Request, max_body: int) -> Answer:
    response = await client.send(req, stream=True)
    try:
        body = bytearray()
        if max_body > 0:
            async for chunk in response.aiter_bytes():
                body.extend(chunk)
                if len(body) > max_body:
                    raise OutboundError(f"the answer is larger than {max_body} bytes")
        return Answer(response.status_code, response.headers, bytes(body))
    finally:
        await response.aclose()


def seconds_left(deadline: float) -> float:
    """What is left of a ``time.monotonic()`` deadline (never negative)."""
    return max(deadline - time.monotonic(), 0.0)
