"""Reading JSON Lines with line numbers, and the one error every import reports.

Both import formats read a file through :func:`read_lines`: a blank line is skipped, anything
else must be one JSON object. A bad line raises :class:`LineError`, which names the line number
and the field at fault, so the CLI prints e.g. ``line 12: title: is required``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from lessonloop.errors import Invalid
from lessonloop.textcheck import JSON_DEPTH_MAX, check_json

Progress = Callable[[int], None]  # called with the number of bytes just read


class LineError(Invalid):
    """A line of an import file is malformed; nothing of that import is kept."""

    def __init__(self, line: int, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.line = line

    def __str__(self) -> str:
        where = f"line {self.line}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


def read_lines(
    stream: Iterable[bytes], progress: Progress | None = None
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line number, object)`` for every non-blank line.

    ``progress`` is told how many bytes were read, every few hundred lines and at the end.
    """
    unreported = 0
    number = 0
    try:
        for number, raw in enumerate(stream, start=1):
            unreported += len(raw)
            if progress is not None and number % 256 == 0:
                progress(unreported)
                unreported = 0
            if not raw.strip():
                continue
            value = _decode(number, raw)
            if not isinstance(value, dict):
                raise LineError(number, f"must be a JSON object, got {type_name(value)}")
            yield number, value
    finally:
        if progress is not None and unreported:
            progress(unreported)


def _decode(number: int, raw: bytes) -> Any:
    """One line as JSON: valid UTF-8, nesting at most ``JSON_DEPTH_MAX`` deep, and only text
    that both backends store alike (no NUL, no lone surrogate: :mod:`lessonloop.textcheck`)."""
    try:
        # Decoded here, strictly: json.loads(bytes) would let encoded lone surrogates through.
        value = json.loads(raw.decode("utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise LineError(number, f"is not valid JSON ({exc.msg} at column {exc.colno})") from None
    except UnicodeDecodeError:
        raise LineError(number, "is not UTF-8 text") from None
    except RecursionError:  # the decoder recurses per level: far deeper than any limit below
        raise LineError(number, f"nests deeper than {JSON_DEPTH_MAX} levels") from None
    try:
        check_json(value)
    except Invalid as exc:
        raise LineError(number, exc.message, field=exc.field) from None
    return value


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "list", dict: "object"}.get(
        type(value), type(value).__name__
    )


def parse_partial_date(raw: str) -> dt.datetime:
    """``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD`` or a full ISO 8601 time → aware UTC datetime.

    A partial date means its first day (``2014-01`` → 2014-01-01T00:00Z). Raises ValueError.
    """
    text = raw.strip()
    parts = text.split("-")
    if len(text) == 4 and text.isdigit():
        return dt.datetime(int(text), 1, 1, tzinfo=dt.UTC)
    if len(text) == 7 and len(parts) == 2 and all(p.isdigit() for p in parts):
        return dt.datetime(int(parts[0]), int(parts[1]), 1, tzinfo=dt.UTC)
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
