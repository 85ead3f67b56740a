"""People's text as HTML (lessonloop.textrender): Markdown rendered, then sanitised."""

from __future__ import annotations

import re

import pytest

from lessonloop.textrender import render_markdown


@pytest.mark.parametrize(
    "attack",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '<a href="javascript:alert(1)">click</a>',
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "![x](javascript:alert(1))",
        '<div onclick="alert(1)">hi</div>',
        "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    ],
)
def test_attacks_come_out_inert(attack: str) -> None:
    html = render_markdown(attack).lower()
    assert "<script" not in html and "<img" not in html and "<div" not in html
    assert not re.search(r"<[a-z][^>]*\son\w+\s*=", html)  # no event handler on any tag
    assert not re.search(r"<a\s[^>]*href=\"(javascript|data):", html)


def test_raw_html_is_shown_as_text() -> None:
    assert render_markdown("<b>bold</b> & more") == "<p>&lt;b&gt;bold&lt;/b&gt; &amp; more</p>"


def test_markdown_is_rendered_with_line_breaks_kept() -> None:
    html = render_markdown("We *assumed* the date.\nNobody checked.\n\n- one\n- two")
    assert "<em>assumed</em>" in html and "date.<br>" in html
    assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in html


def test_links_are_http_https_or_mailto_and_marked_nofollow() -> None:
    html = render_markdown("[vendor](https://example.com/x) [mail](mailto:a@example.com) [ftp](ftp://x)")
    assert '<a href="https://example.com/x" rel="noopener nofollow">vendor</a>' in html
    assert '<a href="mailto:a@example.com" rel="noopener nofollow">mail</a>' in html
    assert "ftp://" not in html


def test_headings_never_outrank_the_page_and_images_are_links() -> None:
    assert render_markdown("# Big") == "<h4>Big</h4>"
    assert render_markdown("![graph](https://example.com/g.png)") == (
        '<p><a href="https://example.com/g.png" rel="noopener nofollow">graph</a></p>'
    )


def test_no_text_is_no_html() -> None:
    assert render_markdown(None) == "" and render_markdown("  \n ") == ""
