"""Review templates per failure kind: the extra questions a review of that kind asks.

Every review asks the three diagnostic questions, the root cause, the gap type and the one
primary action; a template adds ordered extra questions (a text, a list such as the five whys,
or a timeline of time + text lines) asked after the three diagnostic questions. Each kind has a
built-in default (:data:`lessonloop.reviews.questions.DEFAULT_QUESTIONS`); an org admin's edit is
stored as a :class:`~lessonloop.reviews.models.ReviewTemplate` row and overrides the default for
that kind until it is reset. Anyone signed in may read the templates; only org admins (and
system jobs such as the CLI) may change them (403 otherwise).

A review's answers live in ``Review.extra_answers`` by question key. Renaming a question's label
relabels earlier answers; removing a question keeps its answers (shown under the key).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lessonloop import limits
from lessonloop.access.actor import Actor, require_actor
from lessonloop.access.scope import require_directory_admin
from lessonloop.coerce import as_text
from lessonloop.errors import Invalid, NotFound
from lessonloop.failures.models import KIND_LABELS, Failure, FailureKind
from lessonloop.fields import parse_command
from lessonloop.reviews.models import Review, ReviewTemplate
from lessonloop.reviews.questions import (
    DEFAULT_QUESTIONS,
    TIME_MAX,
    TIMELINE_MAX,
    QuestionType,
    key_from_label,
)
from lessonloop.reviews.schemas import SetReviewTemplate


@dataclass(frozen=True)
class TemplateView:
    """A kind's template as it applies now: the admin's, or the default."""

    kind: str
    kind_label: str
    customized: bool
    questions: list[dict[str, Any]]


def _kind(kind: str) -> FailureKind:
    try:
        return FailureKind(str(kind).strip().lower())
    except ValueError:
        raise NotFound(f"no failure kind {kind!r}", field="kind") from None


def _row(session: Session, kind: str) -> ReviewTemplate | None:
    return session.scalar(select(ReviewTemplate).where(ReviewTemplate.kind == kind))


def _view(kind: FailureKind, row: ReviewTemplate | None) -> TemplateView:
    questions = row.questions if row is not None else DEFAULT_QUESTIONS.get(kind.value, [])
    return TemplateView(kind.value, KIND_LABELS[kind], row is not None, copy.deepcopy(list(questions)))


def get_template(session: Session, kind: str, *, viewer: Actor) -> TemplateView:
    """The template of failure kind ``kind`` (404 for a kind that does not exist)."""
    require_actor(viewer)
    k = _kind(kind)
    return _view(k, _row(session, k.value))


def list_templates(session: Session, *, viewer: Actor) -> list[TemplateView]:
    """Every failure kind's template, in the order of the kinds."""
    require_actor(viewer)
    rows = {row.kind: row for row in session.scalars(select(ReviewTemplate))}
    return [_view(k, rows.get(k.value)) for k in FailureKind]


def _clean_questions(questions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    command = parse_command(SetReviewTemplate, {"questions": [dict(q) for q in questions]})
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, q in enumerate(command.questions):
        key = q.key or key_from_label(q.label)
        if key in seen:
            raise Invalid(f"two questions share the key {key!r}", field=f"questions.{index}.key")
        seen.add(key)
        out.append(
            {
                "key": key,
                "label": q.label.strip(),
                "help": q.help.strip(),
                "type": q.type.value,
                "required": q.required,
                "max_items": q.max_items,
            }
        )
    return out


def set_template(
    session: Session, kind: str, questions: Sequence[Mapping[str, Any]], *, viewer: Actor
) -> TemplateView:
    """Replace kind ``kind``'s extra questions (in order): org admins only (403 otherwise)."""
    require_directory_admin(viewer, "change review templates")
    k = _kind(kind)
    cleaned = _clean_questions(questions)
    row = _row(session, k.value)
    if row is None:
        row = ReviewTemplate(kind=k.value, questions=cleaned)
        session.add(row)
    else:
        row.questions = cleaned
    session.flush()
    return _view(k, row)


def reset_template(session: Session, kind: str, *, viewer: Actor) -> TemplateView:
    """Back to the built-in default for ``kind``: org admins only (403 otherwise)."""
    require_directory_admin(viewer, "change review templates")
    k = _kind(kind)
    row = _row(session, k.value)
    if row is not None:
        session.delete(row)
        session.flush()
    return _view(k, None)


def template_for_review(session: Session, review: Review, *, viewer: Actor) -> TemplateView:
    """The template of the kind of ``review``'s failure."""
    failure = session.get(Failure, review.failure_id)
    assert failure is not None  # a foreign key
    return template_for_failure(session, failure, viewer=viewer)


def template_for_failure(session: Session, failure: Failure, *, viewer: Actor) -> TemplateView:
    require_actor(viewer)
    try:
        kind = FailureKind(failure.kind)
    except ValueError:
        kind = FailureKind.other
    return _view(kind, _row(session, kind.value))


# -- answers --------------------------------------------------------------------------------------


def _field(key: str) -> str:
    return f"extra_answers.{key}"


def _timeline_line(value: Any, field: str) -> dict[str, str] | None:
    if isinstance(value, Mapping):
        unknown = set(value) - {"time", "text"}
        if unknown:
            raise Invalid(f"a timeline line has a time and a text, not {sorted(unknown)[0]!r}", field=field)
        time, text = value.get("time"), value.get("text")
    else:  # "09:40 | deploy started"
        time, _, text = str(value).partition("|") if "|" in str(value) else ("", "", str(value))
    line = {
        "time": as_text(time, field, max_len=TIME_MAX),
        "text": as_text(text, field, max_len=limits.NOTE_MAX),
    }
    if not line["text"] and not line["time"]:
        return None
    if not line["text"]:
        raise Invalid(f"the line at {line['time']!r} needs a text", field=field)
    return line


def clean_answer(question: Mapping[str, Any], value: Any) -> Any:
    """One answer as stored for ``question``'s type, or None when it is empty."""
    key, kind = str(question["key"]), question.get("type", QuestionType.text.value)
    field = _field(key)
    if value is None:
        return None
    if kind == QuestionType.text.value:
        if isinstance(value, list):
            value = "\n".join(str(v) for v in value)
        if isinstance(value, Mapping):
            raise Invalid("must be text", field=field)
        return as_text(value, field, max_len=limits.LONG_TEXT_MAX) or None
    items = value.splitlines() if isinstance(value, str) else value
    if not isinstance(items, list):
        raise Invalid("must be a list", field=field)
    if kind == QuestionType.list.value:
        entries = [as_text(v, field, max_len=limits.NOTE_MAX) for v in items if not isinstance(v, Mapping)]
        if len(entries) != len(items):
            raise Invalid("must be a list of texts", field=field)
        entries = [e.strip(" -*\t") for e in entries if e.strip(" -*\t")]
        most = int(question.get("max_items") or 5)
        if len(entries) > most:
            raise Invalid(f"at most {most} entries", field=field)
        return entries or None
    if kind == QuestionType.timeline.value:
        lines = [line for line in (_timeline_line(v, field) for v in items) if line is not None]
        if len(lines) > TIMELINE_MAX:
            raise Invalid(f"at most {TIMELINE_MAX} lines", field=field)
        return lines or None
    raise Invalid(f"unknown question type {kind!r}", field=field)


def apply_extra_answers(session: Session, review: Review, given: Any, *, viewer: Actor) -> None:
    """Merge ``given`` (question key → answer) into the review's extra answers: only the keys
    given change, an empty answer removes one; a key the template does not ask is refused."""
    if given is None:
        return
    if not isinstance(given, Mapping):
        raise Invalid("must map question keys to answers", field="extra_answers")
    template = template_for_review(session, review, viewer=viewer)
    by_key = {str(q["key"]): q for q in template.questions}
    answers = dict(review.extra_answers or {})
    for key, value in given.items():
        question = by_key.get(str(key))
        if question is None:
            raise Invalid(
                f"is not a question of the {template.kind_label} review template", field=_field(str(key))
            )
        cleaned = clean_answer(question, value)
        if cleaned is None:
            answers.pop(str(key), None)
        else:
            answers[str(key)] = cleaned
    review.extra_answers = answers  # a new dict: the JSON column sees the change


def missing_extra(session: Session, review: Review, *, viewer: Actor) -> list[tuple[str, str]]:
    """(field, message) for each required extra question still unanswered."""
    template = template_for_review(session, review, viewer=viewer)
    answers = review.extra_answers or {}
    return [
        (_field(str(q["key"])), f"answer {q['label']!r}")
        for q in template.questions
        if q.get("required") and not answers.get(str(q["key"]))
    ]


def answered_questions(
    session: Session, review: Review | None, *, viewer: Actor
) -> list[tuple[dict[str, Any], Any]]:
    """(question, answer) for the post-mortem: the template's questions in order (answer None
    when unanswered), then answers to questions since removed, labelled by their key."""
    if review is None:
        return []
    template = template_for_review(session, review, viewer=viewer)
    answers = dict(review.extra_answers or {})
    out = [(q, answers.pop(str(q["key"]), None)) for q in template.questions]
    for key, value in sorted(answers.items()):
        kind = (
            QuestionType.timeline.value
            if isinstance(value, list) and value and isinstance(value[0], Mapping)
            else QuestionType.list.value
            if isinstance(value, list)
            else QuestionType.text.value
        )
        out.append(
            ({"key": key, "label": key.replace("_", " ").capitalize(), "help": "", "type": kind}, value)
        )
    return out
