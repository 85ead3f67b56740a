"""Small helpers shared by the digest and the post-mortem: escaping for Markdown and HTML, and
people's text rendered as the pages render it."""

from __future__ import annotations

import datetime as dt
import html
import re

from lessonloop.textrender import render_markdown

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


def h_md(value: object) -> str:
    """A person's text (Markdown) as sanitised HTML, exactly as the pages draw it
    (:func:`lessonloop.textrender.render_markdown`), in a ``<div class="md">``."""
    rendered = render_markdown(None if value is None else str(value))
    return f'<div class="md">{rendered}</div>' if rendered else ""


def day(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()
