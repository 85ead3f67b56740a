"""Text that both databases store the same way, and JSON that cannot exhaust the stack.

Two kinds of character decode fine from JSON (``"\\u0000"``, ``"\\ud800"``) but are not text both
backends keep:

* **NUL** (U+0000): PostgreSQL refuses it in ``text`` columns, SQLite stores it, and C-string
  tools (and SQLite's own functions) cut the text there;
* **lone surrogates** (U+D800..U+DFFF not in a pair): not Unicode scalar values, so they cannot
  be encoded as UTF-8 at all (a 500 when the driver tries).

Both are refused, never silently dropped: an import or request that contains one is answered with
:class:`~lessonloop.errors.Invalid` naming the field (an import adds the line number), the same
on SQLite and PostgreSQL. :func:`check_json` also bounds how deeply a decoded JSON value nests
(:data:`JSON_DEPTH_MAX`), so nothing that walks it recursively can run out of stack.
"""

from __future__ import annotations

import re
from typing import Any

from lessonloop.errors import Invalid

#: How deeply a JSON document may nest (the outer object is level 1). A lessonloop record uses 3.
JSON_DEPTH_MAX = 32

_BAD = re.compile("[\x00\ud800-\udfff]")


def _problem(value: str) -> str | None:
    found = _BAD.search(value)
    if found is None:
        return None
    char = found.group()
    where = f"at character {found.start() + 1}"
    if char == "\x00":
        return f"contains a NUL character (\\u0000) {where}, which is not allowed in text"
    return f"contains a lone surrogate (\\u{ord(char):04x}) {where}, which is not valid Unicode text"


def check_text(value: str, field: str | None = None) -> str:
    """``value`` unchanged, or :class:`Invalid` (naming ``field``) when it holds NUL or a lone
    surrogate."""
    problem = _problem(value)
    if problem is not None:
        raise Invalid(problem, field=field)
    return value


def _shown(key: str) -> str:
    """A key as it can be printed: escapes for what a terminal cannot show."""
    return key if _problem(key) is None and key.isprintable() else ascii(key)[1:-1]


def _child(path: str, key: str | int) -> str:
    if len(path) > 60:  # deep inside: the start of the path says where
        return path if path.endswith("…") else path + "…"
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{_shown(key)}" if path else _shown(key)


def check_json(value: Any, field: str | None = None, *, max_depth: int = JSON_DEPTH_MAX) -> None:
    """Refuse a decoded JSON value that nests deeper than ``max_depth`` or holds a string (value
    or key) that :func:`check_text` refuses. A bad string is named by its path below ``field``
    (``extra.notes[2]``); too deep a value by the field it hangs from (``extra``: the path down
    would be the nesting itself). Iterative: any depth is safe to check."""
    root = field or ""
    # (value, its path, its depth, the path of the outermost field holding it)
    stack: list[tuple[Any, str, int, str]] = [(value, root, 1, root)]
    while stack:
        item, path, depth, top = stack.pop()
        if isinstance(item, str):
            problem = _problem(item)
            if problem is not None:
                raise Invalid(problem, field=path or None)
            continue
        if not isinstance(item, dict | list):
            continue
        if depth > max_depth:
            raise Invalid(f"nests deeper than {max_depth} levels", field=top or None)
        if isinstance(item, dict):
            for key in item:
                problem = _problem(key) if isinstance(key, str) else None
                if problem is not None:
                    raise Invalid(f"is a key that {problem}", field=_child(path, key))
            keyed: list[tuple[str | int, Any]] = list(item.items())
        else:
            keyed = list(enumerate(item))
        children = [(child, _child(path, k), depth + 1) for k, child in keyed]
        # reversed: the first fault in reading order is the one reported
        stack.extend((c, p, d, top if depth > 1 else p) for c, p, d in reversed(children))
