"""The signature of an event delivery: HMAC-SHA256 over ``"<timestamp>.<body>"``.

Headers sent with every delivery::

    X-Lessonloop-Event: failure.logged
    X-Lessonloop-Event-Id: 3f0c…           (the same on every retry: dedupe on it)
    X-Lessonloop-Timestamp: 1767225600     (unix seconds of this attempt)
    X-Lessonloop-Signature: v1=<hex>       (HMAC-SHA256(secret, f"{timestamp}.{body}"))

:func:`verify` is what a receiver does (docs/integrations.md shows it standalone): recompute,
compare in constant time, refuse a timestamp older (or newer) than the tolerance.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

VERSION = "v1"
TOLERANCE_SECONDS = 300


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``v1=<hex>`` for this body at this time."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{VERSION}={mac.hexdigest()}"


def stamp(secret: str, timestamp: int, body: bytes) -> str:
    """What the outbox keeps on the delivery for its attempt: ``"<timestamp>,v1=<hex>"``."""
    return f"{timestamp},{signature(secret, timestamp, body)}"


def headers_of(stamped: str) -> dict[str, str]:
    """The timestamp and signature headers from a :func:`stamp`."""
    timestamp, _, sig = stamped.partition(",")
    return {"X-Lessonloop-Timestamp": timestamp, "X-Lessonloop-Signature": sig}


def verify(
    secret: str, timestamp: str, sig: str, body: bytes, *, now: float, tolerance: int = TOLERANCE_SECONDS
) -> bool:
    """A receiver's check: the signature matches and the timestamp is within ``tolerance``."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs(now - ts) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, ts, body), sig)
