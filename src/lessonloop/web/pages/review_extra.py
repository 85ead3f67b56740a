"""The review wizard's "more questions" step: the extra questions of the review template of the
failure's kind (:mod:`lessonloop.reviews.templates`), as form fields and back.

A text question is one textarea ``x_<key>``; a list (the five whys) is ``x_<key>_1`` ..
``x_<key>_<max_items>``; a timeline is rows of ``x_<key>_time_<n>`` and ``x_<key>_text_<n>``
(the answered lines and a few blank ones).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lessonloop.reviews.questions import TIMELINE_MAX, QuestionType
from lessonloop.web.forms import Form as PageForm

BLANK_TIMELINE_ROWS = 3


def _list_names(q: Mapping[str, Any]) -> list[str]:
    return [f"x_{q['key']}_{n}" for n in range(1, int(q.get("max_items") or 5) + 1)]


def _timeline_names(q: Mapping[str, Any], rows: int) -> list[tuple[str, str]]:
    return [(f"x_{q['key']}_time_{n}", f"x_{q['key']}_text_{n}") for n in range(1, rows + 1)]


def layout(questions: list[dict[str, Any]], answers: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each question with the names of its fields, as the step's template draws them."""
    out = []
    for q in questions:
        kind = q.get("type", QuestionType.text.value)
        if kind == QuestionType.list.value:
            names: Any = _list_names(q)
        elif kind == QuestionType.timeline.value:
            answered = answers.get(q["key"]) or []
            rows = min(TIMELINE_MAX, max(len(answered) + BLANK_TIMELINE_ROWS, 4))
            names = _timeline_names(q, rows)
        else:
            names = [f"x_{q['key']}"]
        out.append({**q, "names": names, "first": first_field(q)})
    return out


def first_field(q: Mapping[str, Any]) -> str:
    kind = q.get("type", QuestionType.text.value)
    if kind == QuestionType.list.value:
        return f"x_{q['key']}_1"
    if kind == QuestionType.timeline.value:
        return f"x_{q['key']}_text_1"
    return f"x_{q['key']}"


def field_names(questions: list[dict[str, Any]]) -> list[str]:
    """Every field the step may post (a timeline: up to its most lines)."""
    names: list[str] = []
    for q in questions:
        kind = q.get("type", QuestionType.text.value)
        if kind == QuestionType.list.value:
            names += _list_names(q)
        elif kind == QuestionType.timeline.value:
            names += [n for pair in _timeline_names(q, TIMELINE_MAX) for n in pair]
        else:
            names.append(f"x_{q['key']}")
    return names


def values(questions: list[dict[str, Any]], answers: Mapping[str, Any]) -> dict[str, str]:
    """The stored answers as the step's form values."""
    out: dict[str, str] = {}
    for q in questions:
        answer = answers.get(q["key"])
        kind = q.get("type", QuestionType.text.value)
        if answer is None:
            continue
        if kind == QuestionType.list.value and isinstance(answer, list):
            out.update({name: str(item) for name, item in zip(_list_names(q), answer, strict=False)})
        elif kind == QuestionType.timeline.value and isinstance(answer, list):
            for (t_name, x_name), line in zip(_timeline_names(q, len(answer)), answer, strict=False):
                if isinstance(line, Mapping):
                    out[t_name], out[x_name] = str(line.get("time", "")), str(line.get("text", ""))
        else:
            out[f"x_{q['key']}"] = str(answer)
    return out


def posted_answers(questions: list[dict[str, Any]], form: PageForm) -> dict[str, Any]:
    """The posted fields as ``extra_answers`` (blank entries and lines left for the service to drop)."""
    out: dict[str, Any] = {}
    for q in questions:
        kind = q.get("type", QuestionType.text.value)
        if kind == QuestionType.list.value:
            out[q["key"]] = [form.text(n) for n in _list_names(q) if form.text(n)]
        elif kind == QuestionType.timeline.value:
            lines = [
                {"time": form.text(t), "text": form.text(x)}
                for t, x in _timeline_names(q, TIMELINE_MAX)
                if form.text(t) or form.text(x)
            ]
            out[q["key"]] = lines
        else:
            out[q["key"]] = form.text(f"x_{q['key']}")
    return out


def aliases(questions: list[dict[str, Any]]) -> dict[str, str]:
    """A refusal of ``extra_answers.<key>`` is shown beside the question's first field."""
    return {f"extra_answers.{q['key']}": first_field(q) for q in questions}


def labels(questions: list[dict[str, Any]]) -> dict[str, str]:
    return {first_field(q): str(q["label"]) for q in questions}
