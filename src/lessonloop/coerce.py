"""Turn loosely-typed input (CLI strings, JSON values, import lines) into domain values.

Every helper names the field at fault, so the CLI, API and importer report bad input the same way.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, TypeVar

from lessonloop.errors import Invalid

E = TypeVar("E", bound=enum.Enum)


def as_text(value: Any, field: str, *, required: bool = False, max_len: int | None = None) -> str:
    text = "" if value is None else str(value).strip()
    if "\x00" in text:  # PostgreSQL text cannot hold it; no person types it
        raise Invalid("must not contain NUL characters", field=field)
    if required and not text:
        raise Invalid("is required", field=field)
    if max_len is not None and len(text) > max_len:
        raise Invalid(f"is longer than {max_len} characters", field=field)
    return text


def as_enum(value: Any, enum_type: type[E], field: str) -> E:
    if isinstance(value, enum_type):
        return value
    raw = str(value).strip().lower().replace("_", "-").replace(" ", "-")
    for member in enum_type:
        if raw in {str(member.value), member.name.replace("_", "-")}:
            return member
    allowed = ", ".join(str(m.value) for m in enum_type)
    raise Invalid(f"must be one of: {allowed} (got {value!r})", field=field)


def as_date(value: Any, field: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    raw = str(value or "").strip()
    if not raw:
        raise Invalid("is required (YYYY-MM-DD)", field=field)
    today = dt.date.today()
    relative = {"today": today, "tomorrow": today + dt.timedelta(days=1)}
    if raw.lower() in relative:
        return relative[raw.lower()]
    if raw.startswith("+") and raw[1:-1].isdigit() and raw[-1] in "dw":  # +7d, +2w
        days = int(raw[1:-1]) * (7 if raw[-1] == "w" else 1)
        return today + dt.timedelta(days=days)
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise Invalid(f"is not a date (YYYY-MM-DD, today, +7d): {raw!r}", field=field) from None


def as_datetime(value: Any, field: str) -> dt.datetime:
    """An aware datetime; one that has no UTC equivalent (year 1 or 9999 at an offset) is refused."""
    return _in_utc_range(_as_datetime(value, field), field)


def _in_utc_range(value: dt.datetime, field: str) -> dt.datetime:
    try:
        value.astimezone(dt.UTC)  # times are stored in UTC
    except OverflowError:
        raise Invalid("is out of range (years 1 to 9999 in UTC)", field=field) from None
    return value


def _as_datetime(value: Any, field: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    raw = str(value or "").strip()
    if not raw:
        raise Invalid("is required (ISO 8601 date or time)", field=field)
    if raw.lower() == "now":
        return dt.datetime.now(dt.UTC).replace(microsecond=0)
    try:
        parsed = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(f"is not a date or time (ISO 8601): {raw!r}", field=field) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def as_float(value: Any, field: str) -> float:
    if isinstance(value, bool):
        raise Invalid("must be a number", field=field)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise Invalid(f"must be a number (got {value!r})", field=field) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise Invalid("must be a finite number", field=field)
    return number
