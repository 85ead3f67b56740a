"""``web.render.option_tags``: a select's options, written in Python (decision 67)."""

from __future__ import annotations

from markupsafe import Markup

from lessonloop.web.render import option_tags


def test_values_and_texts_are_escaped_and_the_current_value_is_selected() -> None:
    html = option_tags([("a&b", "Ann <admin>"), ("c", 'Cy "C"')], "c")
    assert html == (
        '<option value="a&amp;b">Ann &lt;admin&gt;</option>\n'
        '<option value="c" selected>Cy &#34;C&#34;</option>'
    )


def test_values_are_compared_as_text_and_nothing_matching_selects_nothing() -> None:
    assert option_tags([(1, "one"), (2, "two")], "2") == (
        '<option value="1">one</option>\n<option value="2" selected>two</option>'
    )
    assert "selected" not in option_tags([(1, "one")], "3")
    assert "selected" not in option_tags([(1, "one")], None)


def test_markup_text_is_kept_as_markup_not_escaped_twice() -> None:
    assert option_tags([("x", Markup("<b>bold</b>"))], "") == '<option value="x"><b>bold</b></option>'


def test_the_same_options_with_another_current_value_select_it() -> None:
    # the escaped tags are kept per list of options; the selection is per call
    options = [(f"p{i}", f"Person {i}") for i in range(300)]
    first, other = option_tags(options, "p3"), option_tags(options, "p250")
    assert first.count(" selected") == other.count(" selected") == 1
    assert '<option value="p3" selected>' in first and '<option value="p250" selected>' in other
    assert '<option value="p3">' in other
