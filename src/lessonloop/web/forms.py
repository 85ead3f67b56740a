"""A posted form's values and errors, and the one way routes call a service with it.

Form fields are named after the service arguments (``title``, ``owner``, ``due_date`` …), so a
:class:`~lessonloop.errors.LessonloopError` whose ``field`` names one of them is shown beside
that field, with every typed value kept. A refused command
(:class:`~lessonloop.errors.InvalidFields`, from :func:`lessonloop.fields.parse_command`) shows
every field's refusal at once. An error about something the form does not have is shown above
the form, named by its label (``labels``; else the name in words: never ``detected_at``), or, for
a record one may not see, becomes the 404 page.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from lessonloop.errors import InvalidFields, LessonloopError, NotFound, PermissionDenied
from lessonloop.web.security import CSRF_FIELD


class Form:
    """Values as typed (strings, or lists for multi-valued fields) and errors by field name."""

    def __init__(
        self,
        fields: Iterable[str],
        values: Mapping[str, Any] | None = None,
        *,
        aliases: Mapping[str, str] | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> None:
        self.fields = tuple(fields)
        self.labels = dict(labels or {})
        self.values: dict[str, Any] = dict(values or {})
        self.errors: dict[str, str] = {}
        self.message: str | None = None
        self.message_field: str | None = None  # the service field a form-level message is about
        self.aliases = dict(aliases or {})

    @classmethod
    def posted(
        cls,
        data: FormData,
        fields: Iterable[str],
        *,
        lists: Iterable[str] = (),
        aliases: Mapping[str, str] | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> Form:
        names = tuple(fields)
        multi = set(lists)
        values: dict[str, Any] = {}
        for name in names:
            if name in multi:
                values[name] = [str(v) for v in data.getlist(name) if str(v).strip()]
            else:
                raw = data.get(name)
                values[name] = "" if raw is None or not isinstance(raw, str) else raw
        values.pop(CSRF_FIELD, None)
        return cls(names, values, aliases=aliases, labels=labels)

    @property
    def ok(self) -> bool:
        return not self.errors and self.message is None

    def value(self, name: str) -> Any:
        value = self.values.get(name)
        return "" if value is None else value

    def text(self, name: str) -> str:
        value = self.values.get(name)
        return value.strip() if isinstance(value, str) else ""

    def raw(self, name: str) -> str:
        """The value exactly as typed (passwords are never stripped)."""
        value = self.values.get(name)
        return value if isinstance(value, str) else ""

    def many(self, name: str) -> list[str]:
        value = self.values.get(name)
        if isinstance(value, list):
            return value
        return [value] if isinstance(value, str) and value.strip() else []

    def has(self, name: str, option: str) -> bool:
        return option in self.many(name) or self.values.get(name) == option

    def error(self, name: str) -> str:
        return self.errors.get(name, "")

    def label(self, name: str) -> str:
        """What the page calls field ``name``: its label, else its name in words."""
        name = self.aliases.get(name, name)
        if name in self.labels:
            return self.labels[name]
        words = name.replace("_", " ").replace(".", " ").strip()
        return words[:1].upper() + words[1:]

    def error_list(self) -> list[tuple[str, str, str]]:
        """Every field error as (field, label, message), in the form's field order."""
        return [(n, self.label(n), self.errors[n]) for n in self.fields if n in self.errors]

    def add_error(self, name: str, message: str) -> None:
        if name in self.fields:
            self.errors.setdefault(name, message)
        else:
            self.message = message

    def fail(self, exc: LessonloopError) -> None:
        """Show ``exc`` beside its field, or above the form when the form has no such field; a
        refused command shows every field's refusal at once."""
        refusals = exc.errors if isinstance(exc, InvalidFields) else {exc.field or "": exc.message}
        for field, message in (refusals or {exc.field or "": exc.message}).items():
            name = self.aliases.get(field, field)
            if name and name in self.fields:
                self.errors.setdefault(name, message)
            elif self.message is None:
                named = field and field != "status"
                self.message = f"{self.label(field)}: {message}" if named else message
                self.message_field = field or None

    @contextmanager
    def attempt(self, session: Session) -> Iterator[None]:
        """Run service calls; on a refusal, roll the request's work back and keep the error.

        A record the viewer may not see (404) or may not change (403) that is not one of the
        form's fields still ends the request with that page.
        """
        try:
            yield
        except LessonloopError as exc:
            name = self.aliases.get(exc.field or "", exc.field or "")
            if isinstance(exc, NotFound | PermissionDenied) and name not in self.fields:
                raise
            session.rollback()
            self.fail(exc)
