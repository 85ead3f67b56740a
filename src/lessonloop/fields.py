"""Input field types shared by every adapter's commands: a field's limits are declared once.

The commands (pydantic models) that the API takes as bodies, the CLI builds from its options and
the pages build from their forms use these types, so "a title is at most 300 characters" or "a
person is an id, a handle or an e-mail" means the same everywhere. Numbers come from
:mod:`lessonloop.limits`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    PlainValidator,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
)

from lessonloop import limits
from lessonloop.coerce import as_date, as_datetime
from lessonloop.errors import Invalid, InvalidFields


def _ref(value: Any) -> int | str:
    """One check for both spellings, so a bad reference is reported at the field itself
    (``team``), not at each arm of a union (``team.int``, ``team.str``)."""
    if isinstance(value, bool):
        raise ValueError("give an id, a handle, an e-mail or a name")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        if len(value) > limits.REF_MAX:
            raise ValueError(f"at most {limits.REF_MAX} characters")
        return value
    raise ValueError("give an id, a handle, an e-mail or a name")


Ref = Annotated[
    int | str,
    PlainValidator(_ref),
    WithJsonSchema({"anyOf": [{"type": "integer"}, {"type": "string", "maxLength": limits.REF_MAX}]}),
]
"""A person or team in input: its id, or its handle, e-mail or name (``limits.REF_MAX``)."""


def _trimmed(value: Any) -> Any:
    """Text without the spaces and blank lines around it: whitespace only is empty."""
    return value.strip() if isinstance(value, str) else value


Text = Annotated[str, BeforeValidator(_trimmed)]
"""Text as a person typed it, trimmed: whitespace alone is empty, so a required text
(``Field(min_length=1)``) refuses it as "is required" in the API, the CLI and the pages alike."""

ShortText = Annotated[str, StringConstraints(max_length=limits.SHORT_TEXT_MAX)]
"""One item of a list of labels or of one-line texts (``limits.SHORT_TEXT_MAX``)."""


def _when(value: Any) -> Any:
    """Blank is "not given"; text is read as the services read it (ISO 8601 date or time, ``now``;
    UTC if no zone) so the API, the CLI and the pages accept the same spellings."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        try:
            return as_datetime(value, "when")
        except Invalid as exc:
            raise ValueError(exc.message) from None
    return value


When = Annotated[dt.datetime | None, BeforeValidator(_when)]
"""An optional moment: an ISO 8601 date or time (UTC if no zone), or ``now``; blank is none."""


def _day(value: Any) -> Any:
    """Text is read as the CLI always read dates (``2026-03-01``, ``today``, ``tomorrow``, ``+7d``,
    ``+2w``), so a page's form and an API body accept what the CLI accepts; blank is refused
    with the services' words."""
    if isinstance(value, str | dt.datetime):
        try:
            return as_date(value, "date")
        except Invalid as exc:
            raise ValueError(exc.message) from None
    return value


def _optional_day(value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _day(value)


Day = Annotated[dt.date, BeforeValidator(_day)]
"""A required date: ``YYYY-MM-DD``, ``today``, ``tomorrow`` or ``+7d`` / ``+2w`` from today."""

OptionalDay = Annotated[dt.date | None, BeforeValidator(_optional_day)]
"""A date as :data:`Day` reads it, or none (blank is none)."""


def blank_is_none(value: Any) -> Any:
    """A form's empty choice (``""``) is no choice: for optional enums and numbers."""
    return None if isinstance(value, str) and not value.strip() else value


def lines_of(value: Any) -> list[str]:
    """A list as a person writes it in a textarea or a review file: one item per line (a leading
    ``-`` or ``*`` dropped), or the items of a list; blank items dropped."""
    if value is None:
        return []
    items = value.splitlines() if isinstance(value, str) else [str(v) for v in value]
    return [item.strip(" -*\t") for item in items if item.strip(" -*\t")]


M = TypeVar("M", bound=BaseModel)


def parse_command(model: type[M], data: Mapping[str, Any]) -> M:
    """``model`` from ``data`` (a CLI's options, a form's fields), a refusal as
    :class:`~lessonloop.errors.InvalidFields` (an :class:`~lessonloop.errors.Invalid`) naming the
    first field at fault and carrying every field's refusal: the CLI prints the first as one line,
    the pages put each beside its field. (The API lets FastAPI validate its bodies: 422.)

    A ``None`` value is an option or field that was not given: the model's default applies, and
    a required field is refused as "is required"."""
    given = {key: value for key, value in data.items() if value is not None}  # None: not given
    try:
        return model.model_validate(given)
    except ValidationError as exc:
        refusals: dict[str, str] = {}
        for error in exc.errors(include_url=False, include_input=False):
            loc, message = list(error["loc"]), _missing_words(model, error) or _in_house_words(error)
            index = loc[-1] if len(loc) > 1 else None
            if isinstance(index, int):  # an item of a list: the list is the field
                loc.pop()
                message = f"item {index + 1} {message}"
            refusals.setdefault(".".join(str(part) for part in loc), message)  # the first per field
        field, message = next(iter(refusals.items()))
        raise InvalidFields(message, field=field or None, errors=refusals) from None


def _missing_words(model: type[BaseModel], error: Mapping[str, Any]) -> str | None:
    """A command's own words for a required field left out (``MISSING`` on the model, by field
    name), where "is required" would not say why: "every action needs exactly one owner"."""
    if error.get("type") != "missing" or not error["loc"]:
        return None
    words: Mapping[str, str] = getattr(model, "MISSING", {})
    return words.get(str(error["loc"][-1]))


def _in_house_words(error: Mapping[str, Any]) -> str:
    """pydantic's message in the words the services use for the same refusal."""
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        return "is required"
    if kind == "string_too_long":
        return f"is longer than {ctx.get('max_length')} characters"
    if kind == "too_long":
        return f"has more than {ctx.get('max_length')} items"
    if kind in {"enum", "literal_error"}:
        return f"must be one of: {ctx.get('expected', '').replace(chr(39), '')}"
    if kind in {"int_parsing", "int_from_float", "int_type"}:
        return "must be a whole number"
    if kind in {"float_parsing", "float_type", "finite_number"}:
        return "must be a number"
    message = str(error.get("msg", "is not valid"))
    return message.removeprefix("Value error, ")
