"""People's free text as HTML: Markdown (CommonMark) rendered, then sanitised. One function for
every HTML surface — the pages (the ``markdown`` Jinja filter), the HTML part of e-mails, the team
digest and the post-mortem export — so the same text reads the same everywhere. Plain-text
channels (the text part of e-mails, the Markdown exports, the CLI) keep the source text.

Two locks, each enough on its own:

* markdown-it-py renders CommonMark with raw HTML off (``<script>`` is shown as text) and refuses
  ``javascript:``/``vbscript:``/``data:`` links;
* nh3 (Ammonia) then keeps only a small set of tags and attributes, links only to ``http``,
  ``https`` and ``mailto``, and gives every link ``rel="noopener nofollow"``.

Headings written in a text become ``<h4>``-``<h6>``: a description never outranks the page's own
headings. An image is drawn as a link to it (an e-mail would fetch an image: a tracking pixel). A single line
break is kept as a line break (``breaks``): most people write plain lines, not Markdown.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml

TAGS = frozenset(
    {"p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a", "hr", "h4", "h5", "h6"}
)
ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener nofollow"
#: A heading written as ``#`` is drawn as ``<h4>``, ``##`` as ``<h5>``, deeper as ``<h6>``.
HEADING_SHIFT = 3


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "breaks": True})

    def heading(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        token = tokens[idx]
        level = min(int(token.tag[1]) + HEADING_SHIFT, 6)
        return f"<h{level}>" if token.nesting == 1 else f"</h{level}>\n"

    def image(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        token = tokens[idx]
        alt = renderer.renderInlineAsText(token.children or [], options, env) or "image"
        src = escapeHtml(str(token.attrGet("src") or ""))
        return f'<a href="{src}">{escapeHtml(alt)}</a>'

    md.add_render_rule("heading_open", heading)
    md.add_render_rule("image", image)
    md.add_render_rule("heading_close", heading)
    return md


def sanitize(html: str) -> str:
    """``html`` with only :data:`TAGS` and :data:`ATTRIBUTES` kept (scripts and styles dropped
    with their content), links limited to :data:`URL_SCHEMES` and marked :data:`LINK_REL`."""
    return nh3.clean(
        html,
        tags=set(TAGS),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )


def render_markdown(text: str | None) -> str:
    """``text`` (Markdown, as a person typed it) as safe HTML; empty for no text."""
    if text is None or not str(text).strip():
        return ""
    return sanitize(_parser().render(str(text))).strip()


def email_html(subject: str, text: str) -> str:
    """The HTML part of a notification e-mail whose text part is ``text``: the same text through
    :func:`render_markdown`, in a minimal document titled ``subject``. A digest brings an HTML
    part of its own; every other notification gets this one."""
    title = escapeHtml(" ".join(str(subject or "").split()))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title></head><body>{render_markdown(text)}</body></html>\n"
    )
