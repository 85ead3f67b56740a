"""Secrets are shown masked, never in full: enough to tell two tokens apart, not to use one."""

from __future__ import annotations

SHOWN = 4  # characters shown at the end


def mask(secret: str | None) -> str:
    """``"••••••••wxyz"`` for a long secret; only dots for a short one (whose last four would be
    too much of it); ``""`` when there is none."""
    if not secret:
        return ""
    if len(secret) < 4 * SHOWN:
        return "•" * 8
    return "•" * 8 + secret[-SHOWN:]
