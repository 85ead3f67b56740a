"""Small helpers shared by the digest and the post-mortem: escaping for Markdown and HTML."""

from __future__ import annotations

import datetime as dt
import html
import re

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def md(value: object) -> str:
    """User text on one Markdown line: special characters escaped, line breaks folded."""
    text = " ".join(("" if value is None else str(value)).split())
    return _MD_SPECIAL.sub(r"\\\1", text)


def md_block(value: object) -> str:
    """User text as a Markdown paragraph: lines kept, special characters escaped."""
    lines = ("" if value is None else str(value)).strip().splitlines()
    return "\n".join(_MD_SPECIAL.sub(r"\\\1", line.rstrip()) for line in lines)


def h(value: object) -> str:
    """HTML-escaped text (quotes too, so it is safe in attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


def h_block(value: object) -> str:
    """HTML-escaped paragraph text with line breaks kept."""
    return "<br>".join(h(line) for line in ("" if value is None else str(value)).strip().splitlines())


def day(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()
