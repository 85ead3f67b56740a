"""Malformed import files get one clear refusal, the same on SQLite and PostgreSQL (issue #17).

NUL characters, lone surrogates and deeply nested JSON used to give a RecursionError, a driver
error (PostgreSQL refuses NUL; SQLite stored it) or a half-finished import. Each is now a
:class:`LineError` naming the line and field, nothing is kept, and the CLI exits with code 2.
The Hypothesis tests feed arbitrary records through both imports: every failure is a clean
refusal, never a traceback.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from lessonloop.errors import LessonloopError
from lessonloop.failures.models import Failure, FailureKind
from lessonloop.people.models import Person
from lessonloop.portability import LineError, import_file
from lessonloop.store.engine import Database
from lessonloop.textcheck import JSON_DEPTH_MAX, check_json, check_text
from tests.cli import Cli
from tests.factories import SYSTEM
from tests.portability.helpers import count
from tests.portability.test_cli import bad_input

HEADER = {"type": "lessonloop", "format": "native", "version": 1}
PERSON = {"type": "person", "id": 1, "handle": "ana", "name": "Ana"}


def _failure(**overrides: Any) -> dict[str, Any]:
    return {
        "type": "failure",
        "id": 1,
        "title": "A failure",
        "detected_at": "2024-01-01T00:00:00Z",
        **overrides,
    }


def _nested(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = [value]
    return value


def _data(lines: list[Any]) -> bytes:
    """Dicts are dumped as JSON (ensure_ascii: a lone surrogate becomes ``\\ud800``), str as is."""
    return "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines).encode()


DEEP = "[" * 100_000 + "]" * 100_000  # deep enough to exhaust the recursive JSON decoder

# (format, lines, line at fault, field at fault, words of the message)
BAD: list[tuple[str, list[Any], int, str | None, str]] = [
    ("public-postmortems", [{"id": "a", "title": "fine"}, {"id": "b", "title": "x\x00y"}], 2, "title", "NUL"),
    (
        "public-postmortems",
        [{"id": "a", "title": "ok", "text": "half \ud800 pair"}],
        1,
        "text",
        "lone surrogate",
    ),
    (
        "public-postmortems",
        [{"id": "a", "title": "ok", "categories": ["x", "\udfff"]}],
        1,
        "categories[1]",
        "lone",
    ),
    ("public-postmortems", [{"id": "a", "title": "ok"}, DEEP], 2, None, "nests deeper than"),
    (
        "public-postmortems",
        [{"id": "a", "title": "ok", "extra": _nested(JSON_DEPTH_MAX)}],
        1,
        "extra",
        "nests",
    ),
    ("public-postmortems", [{"id": "a", "title": "ok", "extra": {"k\x00": 1}}], 1, "extra.k\\x00", "NUL"),
    ("native", [HEADER, PERSON, _failure(title="nul\x00here")], 3, "title", "NUL"),
    ("native", [HEADER, {**PERSON, "name": "\ud83d"}], 2, "name", "lone surrogate"),
    ("native", [HEADER, PERSON, DEEP], 3, None, "nests deeper than"),
    ("native", [HEADER, PERSON, _failure(impact_value=float("nan"))], 3, "impact_value", "finite"),
    ("native", [HEADER, PERSON, _failure(impact_value=1e400)], 3, "impact_value", "finite"),
    ("native", [HEADER, {**PERSON, "id": 2**40}], 2, "id", "out of range"),
    ("native", [HEADER, {**PERSON, "id": 2**31 - 1}], 2, "id", "at most"),  # no id left after it
    ("native", [HEADER, PERSON, _failure(detected_at="9999-12-31T23:00:00-05:00")], 3, "detected_at", "ISO"),
]


def _nothing_kept(db: Database) -> None:
    with db.unit() as session:
        assert count(session, Failure) == 0 and count(session, Person) == 0


@pytest.mark.parametrize(("fmt", "lines", "line", "field", "words"), BAD)
def test_malformed_input_is_refused_by_line_and_field_on_both_backends(
    db: Database, fmt: str, lines: list[Any], line: int, field: str | None, words: str
) -> None:
    with db.unit() as session, pytest.raises(LineError) as info:
        import_file(session, io.BytesIO(_data(lines)), format=fmt, viewer=SYSTEM)
    assert (info.value.line, info.value.field) == (line, field), str(info.value)
    assert words in str(info.value) and str(info.value).startswith(f"line {line}: ")
    _nothing_kept(db)


@pytest.mark.parametrize(("fmt", "lines", "line", "field", "words"), BAD[:4] + BAD[6:9])
def test_the_cli_answers_malformed_input_with_one_line_and_exit_code_2(
    db: Database, tmp_path: Any, fmt: str, lines: list[Any], line: int, field: str | None, words: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(_data(lines))
    error = bad_input(Cli(db.settings.database_url), "import", str(path), "--format", fmt)
    assert error.startswith(f"error: line {line}: ") and words in error
    _nothing_kept(db)


def test_raw_utf8_encoded_surrogates_are_not_text(db: Database) -> None:
    raw = b'{"id": "a", "title": "' + "\ud800".encode("utf-8", "surrogatepass") + b'"}\n'
    with db.unit() as session, pytest.raises(LineError, match="line 1: is not UTF-8 text"):
        import_file(session, io.BytesIO(raw), format="public-postmortems", viewer=SYSTEM)


def test_the_checks_name_the_field_for_other_callers() -> None:
    assert check_text("fine ✓ text", "title") == "fine ✓ text"
    with pytest.raises(LessonloopError) as info:
        check_text("a\x00b", "title")
    assert info.value.field == "title" and "NUL" in str(info.value)
    with pytest.raises(LessonloopError) as info:
        check_json({"a": [{"b": "\udc00"}]}, "body")
    assert info.value.field == "body.a[0].b"
    check_json(_nested(JSON_DEPTH_MAX))  # the outer list is level 1: exactly at the limit
    with pytest.raises(LessonloopError, match="nests deeper than"):
        check_json(_nested(JSON_DEPTH_MAX + 1))
    check_json(_nested(JSON_DEPTH_MAX * 1000), max_depth=10**6)  # iterative: no RecursionError


# --- Hypothesis: arbitrary records, no traceback ------------------------------------------------

_odd = st.sampled_from(["", "\x00", "\ud800", "\udfff", "\u2028", "\ufeff", "é", "🦓", " ", "\n"])
# Mostly a plain string with one odd character in it (NUL and lone surrogates among them), so
# that records carrying them reach the database.
_text = st.tuples(st.text(max_size=12), _odd, st.text(max_size=12)).map("".join)
_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), _text)
_json = st.recursive(
    _scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_text, inner, max_size=3)),
    max_leaves=12,
)
_deep = st.integers(min_value=1, max_value=80).map(_nested)
# Deeper than the JSON decoder's recursion allows, as raw lines (json.dumps could not write them).
_too_deep = st.sampled_from([DEEP, '{"id": "a", "title": "t", "extra": ' + DEEP + "}"])
_value = st.one_of(_json, _deep)

_number = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**31, -(2**31) - 1, 2**63, -(2**63) - 1, 2**64]),
    st.floats(allow_nan=True, allow_infinity=True),
)
_date = st.one_of(
    st.sampled_from(["2024-01-01", "2024-02", "1999", "0001-01-01T00:00:00+01:00", "2024-01-01T00:00:00Z"]),
    st.datetimes().map(lambda d: d.isoformat()),
    _text,
)
_kind = st.one_of(st.sampled_from([k.value for k in FailureKind]), _text)

# Records that are mostly well-formed, so most reach the database; each field is sometimes odd
# text, and sometimes anything at all (_value), a field of another type or an unknown field.
_postmortem = st.fixed_dictionaries(
    {"id": _text.map(lambda t: "pm-" + t), "title": _text.map(lambda t: "T " + t)},
    optional={
        "text": _text,
        "company": _text,
        "url": _text,
        "categories": st.lists(_text, max_size=3),
        "date": st.one_of(st.none(), _date),
        "source": _text,
        "kind": _kind,
        "extra": _value,
    },
)
_native_failure = st.fixed_dictionaries(
    {"title": _text.map(lambda t: "T " + t)},
    optional={
        "observation": _text,
        "kind": _kind,
        "impact_value": st.one_of(st.none(), _number),
        "detected_at": _date,
        "labels": st.lists(_text, max_size=3, unique=True),
        "company": _text,
    },
).map(lambda fields: _failure(id=2, **fields))
_native_person = st.fixed_dictionaries(
    {"handle": _text.map(lambda t: "h" + t), "name": _text.map(lambda t: "N " + t)},
    optional={"email": _text, "id": st.one_of(_number, st.just(3))},
).map(lambda fields: {**PERSON, "id": 2, **fields})


def _odd_field(record: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """``record`` with one field set to any JSON value (or an unknown field added)."""
    return st.tuples(record, _text, _value).map(lambda r: {**r[0], (r[1] if r[1] in r[0] else "id"): r[2]})


def _dump(item: Any) -> str:
    if isinstance(item, str):
        return item  # a raw line, as found
    return json.dumps(item, allow_nan=True)  # NaN and Infinity: Python's json reads them back


_postmortem_line = st.one_of(*[_postmortem] * 6, _odd_field(_postmortem), _value, _too_deep)
_native_line = st.one_of(
    *[_native_failure] * 4, *[_native_person] * 2, _odd_field(_native_failure), _value, _too_deep
)

_HYPOTHESIS = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _outcome(db: Database, fmt: str, data: bytes) -> tuple[str, Any]:
    """What importing ``data`` does: ``("ok", counts)`` or ``("refused", message)``; a refusal
    must name its line. Nothing is kept (rolled back), so every example starts empty."""
    session: Session = db.sessions()
    session.info["actor"] = "hypothesis"
    try:
        result = import_file(session, io.BytesIO(data), format=fmt, viewer=SYSTEM)
        return "ok", (result.created, result.skipped, result.by_type)
    except LineError as exc:
        assert exc.line >= 1 and str(exc).startswith(f"line {exc.line}: ")
        return "refused", str(exc)
    finally:
        session.rollback()
        session.close()


def _same_on_both(sqlite_db: Database, pg_db: Database, fmt: str, lines: list[Any]) -> None:
    data = "\n".join(_dump(x) for x in lines).encode("utf-8", "surrogatepass")
    assert _outcome(sqlite_db, fmt, data) == _outcome(pg_db, fmt, data)


@_HYPOTHESIS
@given(lines=st.lists(_postmortem_line, min_size=1, max_size=4))
def test_any_postmortem_lines_import_or_are_refused_the_same_on_both_backends(
    sqlite_db: Database, pg_db: Database, lines: list[Any]
) -> None:
    _same_on_both(sqlite_db, pg_db, "public-postmortems", lines)


@_HYPOTHESIS
@given(lines=st.lists(_native_line, min_size=0, max_size=3))
def test_any_native_records_import_or_are_refused_the_same_on_both_backends(
    sqlite_db: Database, pg_db: Database, lines: list[Any]
) -> None:
    _same_on_both(sqlite_db, pg_db, "native", [HEADER, PERSON, *lines])
