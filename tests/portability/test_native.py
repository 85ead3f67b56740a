"""Native export/import: a byte-identical round trip on both backends, and careful refusals."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from lessonloop.accounts.models import Account, ApiToken
from lessonloop.coaching.models import CoachingNote, DevelopmentPlan
from lessonloop.demo import build_demo
from lessonloop.errors import Conflict
from lessonloop.escalations.models import Escalation
from lessonloop.failures.models import Failure
from lessonloop.failures.service import confirm_repeat, log_failure, update_failure
from lessonloop.people.service import add_person, get_person
from lessonloop.portability import LineError, import_native
from lessonloop.portability.native import EXCLUDED, KINDS
from lessonloop.reviews.models import Review
from lessonloop.search.service import search
from lessonloop.store.engine import Database
from lessonloop.store.history import HistoryEntry, list_history
from lessonloop.store.registry import metadata
from tests.factories import SYSTEM
from tests.portability.helpers import count, export_text, indexed, wipe


def _full_workspace(db: Database) -> None:
    """The demo (every record type) plus the awkward cases: a repeat pointing at a later id,
    odd characters, floats, an escalation, a failure with no team."""
    with db.unit(actor="demo") as session:
        build_demo(session)
    with db.unit(actor="ana@example.com") as session:
        later = log_failure(
            session,
            title='Détecté tard — «unicode» "quotes" \\ and a tab\t',
            detected_at="2020-01-02T03:04:05.123456Z",
            impact_value=0.1 + 0.2,
            labels=["ünïcode", "Zeta", "alpha"],
            viewer=SYSTEM,
        )
        earlier = log_failure(
            session, title="Earlier incident, logged later", detected_at="2019-12-31", viewer=SYSTEM
        )
        confirm_repeat(session, later.id, earlier.id, viewer=SYSTEM)  # repeat_of_id points at a higher id
        update_failure(session, earlier.id, {"severity": "critical"}, viewer=SYSTEM)
        amara, ben = (get_person(session, h, viewer=SYSTEM) for h in ("amara", "ben"))
        review = session.scalar(select(Review).where(Review.gap_type == "skill"))
        assert review is not None
        if session.scalar(select(Account).where(Account.person_id == amara.id)) is None:
            session.add(Account(person_id=amara.id, password_hash="$argon2id$v=19$fake", is_admin=True))
        session.add_all(
            [
                ApiToken(person_id=ben.id, name="ci", token_hash="a" * 64, prefix="ll_abc"),
                CoachingNote(author_id=amara.id, subject_id=ben.id, body="Private: talk about estimates"),
                DevelopmentPlan(
                    review_id=review.id,
                    person_id=ben.id,
                    author_id=amara.id,
                    goals="Learn drift monitoring",
                    review_date=dt.date(2030, 1, 1),
                ),
            ]
        )
        session.add(
            Escalation(
                rule="label",
                subject_key="handoff",
                subject="Label 'handoff' repeated",
                support_route="organisational-development-specialist",
                failure_ids=[1, 2],
                count=3,
                window_days=90,
                explanation="three hand-off failures in 90 days",
            )
        )
    with db.engine.begin() as conn:  # an old stamp shows if the import re-stamps anything
        conn.execute(update(Failure).values(updated_at=dt.datetime(2001, 1, 1, tzinfo=dt.UTC)))


SPEC_TYPES = [
    "person",
    "team",
    "membership",
    "assumption",
    "failure",
    "review",
    "action",
    "experiment",
    "observation",
    "lesson",
]


def test_every_table_is_exported_linked_or_left_out_on_purpose() -> None:
    covered = [kind.table.name for kind in KINDS] + [link.table.name for kind in KINDS for link in kind.links]
    assert len(covered) == len(set(covered))
    assert set(covered) | set(EXCLUDED) == {table.name for table in metadata.sorted_tables}
    assert not set(covered) & set(EXCLUDED)
    names = [kind.name for kind in KINDS]
    assert names[: len(SPEC_TYPES)] == SPEC_TYPES and names[-1] == "history"
    seen: set[str] = set()
    for kind in KINDS:  # every reference points at a type written before (or at itself, deferred)
        for column in kind.table.columns:
            for fk in column.foreign_keys:
                target = fk.column.table.name
                assert target in seen or target == kind.table.name or target in EXCLUDED, (kind.name, target)
                if target == kind.table.name:
                    assert column.name in kind.deferred
        seen.add(kind.table.name)


def test_round_trip_is_byte_identical_and_the_database_keeps_working(db: Database) -> None:
    _full_workspace(db)
    first = export_text(db)
    types = [json.loads(line)["type"] for line in first.splitlines()]
    assert types[0] == "lessonloop"
    expected_order = [kind.name for kind in KINDS]
    assert [t for i, t in enumerate(types[1:]) if i == 0 or t != types[i]] == [
        name for name in expected_order if name in types
    ]
    assert set(types) >= {*SPEC_TYPES, "history", "account", "escalation", "coaching_note"}
    with db.unit() as session:
        counts_before = {kind.name: count(session, kind.table) for kind in KINDS}
        max_ids = {
            kind.name: session.scalar(select(kind.table.c.id).order_by(kind.table.c.id.desc()))
            for kind in KINDS
        }

    wipe(db)
    with db.unit(actor="restorer") as session:
        result = import_native(session, io.BytesIO(first.encode("utf-8")), viewer=SYSTEM)
    assert result.by_type == {k: n for k, n in counts_before.items() if n}
    assert export_text(db) == first

    with db.unit(actor="tester") as session:
        # Derived data is rebuilt: the search index answers, with the same documents.
        assert {h.kind for h in search(session, "hand-off", viewer=SYSTEM)} >= {"failure", "lesson"}
        failure = session.scalar(
            select(Failure).where(Failure.repeat_of_id.is_not(None)).order_by(Failure.id)
        )
        assert failure is not None
        assert indexed(session, "failure", failure.id) == failure.search_document()
        # New records get fresh ids after the imported ones (PostgreSQL sequences were moved).
        new = log_failure(session, title="Created after the restore", viewer=SYSTEM)
        person = add_person(session, name="New Person", viewer=SYSTEM)
        assert new.id > max_ids["failure"] and person.id > max_ids["person"]
        history = list_history(session, "failure", new.id)
        assert history[0].id > max_ids["history"] and history[0].actor == "tester"


def test_refuses_a_database_that_is_not_empty(db: Database) -> None:
    with db.unit() as session:
        log_failure(session, title="Already here", viewer=SYSTEM)
    exported = export_text(db)
    with db.unit() as session, pytest.raises(Conflict, match="not empty"):
        import_native(session, io.BytesIO(exported.encode()), viewer=SYSTEM)


def test_history_alone_makes_a_database_not_empty(sqlite_db: Database) -> None:
    with sqlite_db.unit() as session:
        session.add(HistoryEntry(record_type="failure", record_id=1, action="delete", actor="x", changes={}))
    with sqlite_db.unit() as session, pytest.raises(Conflict, match="history"):
        import_native(session, io.BytesIO(b""), viewer=SYSTEM)


HEADER = {"type": "lessonloop", "format": "native", "version": 1}
PERSON = {"type": "person", "id": 1, "handle": "ana", "name": "Ana", "email": None}
TEAM = {"type": "team", "id": 1, "name": "Payments", "description": ""}


def _failure(**overrides: Any) -> dict[str, Any]:
    record = {
        "type": "failure",
        "id": 1,
        "title": "A failure",
        "detected_at": "2024-01-01T00:00:00+00:00",
        "labels": ["a"],
        "people": [1],
    }
    record.update(overrides)
    return record


BAD = [
    ([{"id": "x", "title": "a public post-mortem"}], 1, "type", "public-postmortems"),
    ([{**HEADER, "version": 2}], 1, "version", "not supported"),
    ([HEADER, {"type": "widget", "id": 1}], 2, "type", "must be one of"),
    ([HEADER, {**PERSON, "nickname": "an"}], 2, "nickname", "not a field"),
    ([HEADER, {**PERSON, "id": "1"}], 2, "id", "whole number"),
    ([HEADER, {**PERSON, "handle": None}], 2, "handle", "null"),
    ([HEADER, {k: v for k, v in PERSON.items() if k != "name"}], 2, "name", "required"),
    ([HEADER, PERSON, {**PERSON, "id": 2}], 3, "handle", "repeats"),
    ([HEADER, PERSON, {**PERSON}], 3, "id", "repeats"),
    ([HEADER, PERSON, _failure(kind="bad-luck")], 3, "kind", "must be one of"),
    ([HEADER, PERSON, _failure(detected_at="yesterday")], 3, "detected_at", "ISO 8601"),
    ([HEADER, PERSON, _failure(team_id=4)], 3, "team_id", "team 4"),
    ([HEADER, PERSON, _failure(people=[1, 9])], 3, "people", "person 9"),
    ([HEADER, PERSON, _failure(labels="a")], 3, "labels", "must be a list"),
    ([HEADER, PERSON, _failure(labels=["a", "a"])], 3, "labels", "twice"),
    ([HEADER, PERSON, _failure(repeat_of_id=5)], 3, "repeat_of_id", "failure 5"),
    (
        [HEADER, TEAM, PERSON, {"type": "membership", "id": 1, "team_id": 1, "person_id": 1, "role": "boss"}],
        4,
        "role",
        "must be one of",
    ),
]


@pytest.mark.parametrize(("lines", "line", "field", "message"), BAD)
def test_a_bad_record_names_line_and_field(
    sqlite_db: Database, lines: list[dict[str, Any]], line: int, field: str, message: str
) -> None:
    data = "".join(json.dumps(item) + "\n" for item in lines).encode()
    with sqlite_db.unit() as session, pytest.raises(LineError) as info:
        import_native(session, io.BytesIO(data), viewer=SYSTEM)
    assert (info.value.line, info.value.field) == (line, field), str(info.value)
    assert message in str(info.value)
    with sqlite_db.unit() as session:
        assert count(session, Failure) == 0 and export_text(sqlite_db).count("\n") == 1


def test_a_minimal_hand_written_file_imports(db: Database, tmp_path: Path) -> None:
    """Missing nullable fields and timestamps take defaults; a repeat may point forward."""
    lines = [
        HEADER,
        PERSON,
        _failure(id=1, repeat_of_id=2, status="repeated"),
        _failure(id=2, detected_at="2023-12-01T00:00:00Z", labels=[], people=[]),
    ]
    data = "".join(json.dumps(item) + "\n" for item in lines).encode()
    with db.unit() as session:
        result = import_native(session, io.BytesIO(data), viewer=SYSTEM)
    assert result.created == 3
    with db.unit() as session:
        first = session.get(Failure, 1)
        assert first is not None and first.repeat_of_id == 2 and first.labels == ["a"]
        assert first.people[0].handle == "ana"
        assert first.kind == "other" and first.severity == "medium"
        assert first.created_at.tzinfo is not None and first.created_at > dt.datetime(
            2025, 1, 1, tzinfo=dt.UTC
        )
        assert search(session, "failure", viewer=SYSTEM)
        assert log_failure(session, title="next", viewer=SYSTEM).id == 3
