"""Public post-mortems import: real files, idempotence, parity with the ORM path, bad lines."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lessonloop.failures.models import Failure, FailureLabel
from lessonloop.failures.service import clean_labels, log_failure
from lessonloop.portability import LineError, import_file, import_public_postmortems
from lessonloop.search.service import search
from lessonloop.store.engine import Database
from lessonloop.store.history import HistoryEntry, list_history
from tests.factories import SYSTEM
from tests.portability import synthetic
from tests.portability.helpers import count, indexed, write_lines

FILES = ["danluu-post-mortems-dev.jsonl", "intelligentdds-post-mortems-analysis-dev.jsonl"]


def _import(db: Database, path: Path, **kwargs: Any) -> Any:
    with db.unit(actor="importer") as session, path.open("rb") as stream:
        return import_public_postmortems(session, stream, viewer=SYSTEM, **kwargs)


@pytest.mark.data
def test_both_real_files_import_label_search_and_are_idempotent(db: Database, data_dir: Path) -> None:
    expected: dict[str, dict[str, Any]] = {}
    total = 0
    for name in FILES:
        path = data_dir / name
        lines = path.read_text(encoding="utf-8").splitlines()
        for line in lines:
            record = json.loads(line)
            expected[record["id"]] = record
        result = _import(db, path)
        assert (result.created, result.skipped) == (len(lines), 0)
        total += len(lines)

    with db.unit() as session:
        assert count(session, Failure) == total == len(expected)
        assert count(session, FailureLabel) > total  # IntelligentDDS records carry several labels
        for failure in session.scalars(select(Failure)):
            record = expected[failure.external_id or ""]
            assert failure.title == " ".join(record["title"].split())
            assert failure.labels == clean_labels(record["categories"])
            assert (failure.company, failure.url, failure.source) == (
                record["company"],
                record["url"],
                record["source"],
            )
            assert failure.kind == "other" and failure.status == "observed"
            if record["date"]:
                assert failure.occurred_at is not None
                assert failure.occurred_at.date().isoformat()[: len(record["date"])] == record["date"][:10]
                assert failure.detected_at == failure.occurred_at
            else:
                assert failure.occurred_at is None
        # Every create is in the history log, with the actor.
        creates = session.scalar(
            select(func.count()).where(HistoryEntry.record_type == "failure", HistoryEntry.action == "create")
        )
        assert creates == total
        assert {h.actor for h in session.scalars(select(HistoryEntry))} == {"importer"}
        # Searchable by the words of the reports and by their labels.
        hits = search(session, "router rule edge routers", viewer=SYSTEM)
        assert hits and hits[0].kind == "failure" and "Cloudflare" in hits[0].title
        assert search(session, "BGP", kinds=["failure"], viewer=SYSTEM)
        by_label = search(session, "Hardware Power Failures", viewer=SYSTEM)
        assert by_label

    for name in FILES:  # importing again creates nothing
        path = data_dir / name
        result = _import(db, path)
        assert (result.created, result.skipped) == (0, len(path.read_text(encoding="utf-8").splitlines()))
    with db.unit() as session:
        assert count(session, Failure) == total
        assert count(session, HistoryEntry) == total


def test_bulk_rows_match_what_the_orm_path_writes(db: Database, tmp_path: Path) -> None:
    """Same history ``changes`` and search document as log_failure + the flush hooks."""
    record = {
        "id": "pm-1",
        "title": "Edge routers crashed after a bad rule",
        "text": "A router rule took down every edge router.",
        "company": "Example Co",
        "url": "https://example.com/pm-1",
        "categories": ["Config Errors", "Network"],
        "date": "2022-06-21",
        "source": "unit-test",
    }
    _import(db, write_lines(tmp_path / "one.jsonl", [record]))
    with db.unit(actor="importer") as session:
        bulk = session.scalar(select(Failure).where(Failure.external_id == "pm-1"))
        assert bulk is not None
        orm = log_failure(
            session,
            title=record["title"],
            observation=record["text"],
            company=record["company"],
            url=record["url"],
            labels=record["categories"],
            occurred_at=record["date"],
            detected_at=record["date"],
            source=record["source"],
            visibility="org",
            external_id="pm-orm",
            viewer=SYSTEM,
        )
        bulk_changes = list_history(session, "failure", bulk.id)[0].changes
        orm_changes = list_history(session, "failure", orm.id)[0].changes
        assert bulk_changes.pop("external_id") == [None, "pm-1"]
        assert orm_changes.pop("external_id") == [None, "pm-orm"]
        assert bulk_changes == orm_changes
        assert indexed(session, "failure", bulk.id) == indexed(session, "failure", orm.id)
        assert indexed(session, "failure", bulk.id) == bulk.search_document()


def test_dates_titles_duplicates_and_blank_lines(sqlite_db: Database, tmp_path: Path) -> None:
    long_title = "word " * 100
    path = write_lines(
        tmp_path / "mixed.jsonl",
        [
            {"id": "a", "title": "Year only", "date": "2014"},
            "",
            {"id": "b", "title": "Year and month", "date": "2014-03", "categories": None},
            {"id": "c", "title": long_title, "date": "2020-05-06T07:08:09Z", "kind": "skipped-check"},
            {"id": "d", "title": "No date", "date": None, "text": None},
            {"id": "a", "title": "Same id again"},
            "   ",
        ],
    )
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    result = _import(sqlite_db, path)
    assert (result.created, result.skipped) == (4, 1)
    with sqlite_db.unit() as session:
        got = {f.external_id: f for f in session.scalars(select(Failure))}
        assert got["a"].occurred_at == dt.datetime(2014, 1, 1, tzinfo=dt.UTC)
        assert got["a"].title == "Year only"
        assert got["b"].occurred_at == dt.datetime(2014, 3, 1, tzinfo=dt.UTC) and got["b"].labels == []
        assert got["c"].occurred_at == dt.datetime(2020, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
        assert len(got["c"].title) == 300 and got["c"].title.endswith("…")
        assert got["c"].kind == "skipped-check"
        assert got["d"].occurred_at is None and got["d"].detected_at >= before
        assert got["d"].observation == ""
        assert got["d"].source == "public-postmortems"


BAD_LINES = [
    ("{not json", None),
    ('["a", "list"]', None),
    ({"title": "no id"}, "id"),
    ({"id": "x", "title": "  "}, "title"),
    ({"id": 7, "title": "numeric id"}, "id"),
    ({"id": "x", "title": "t", "categories": "Config Errors"}, "categories"),
    ({"id": "x", "title": "t", "categories": ["ok", 3]}, "categories[1]"),
    ({"id": "x", "title": "t", "date": "21/06/2022"}, "date"),
    ({"id": "x", "title": "t", "text": ["a"]}, "text"),
    ({"id": "x", "title": "t", "kind": "bad-luck"}, "kind"),
    ({"id": "x", "title": "t", "extra": "notes"}, "extra"),
    ({"id": "x", "title": "t", "url": "https://e.com/" + "x" * 2000}, "url"),
]


@pytest.mark.parametrize(("bad", "field"), BAD_LINES)
def test_a_bad_line_names_line_and_field(
    sqlite_db: Database, tmp_path: Path, bad: Any, field: str | None
) -> None:
    path = write_lines(tmp_path / "bad.jsonl", [{"id": "ok-1", "title": "Fine"}, "", bad])
    with pytest.raises(LineError) as info:
        _import(sqlite_db, path)
    assert info.value.line == 3
    assert info.value.field == field
    assert str(info.value).startswith(f"line 3: {field}: " if field else "line 3: ")
    with sqlite_db.unit() as session:
        assert count(session, Failure) == 0


def test_bad_line_after_several_batches_leaves_nothing(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    synthetic.write(path, 2500)
    with path.open("a", encoding="utf-8") as out:
        out.write('{"id": "broken", "title": null}\n')
    with pytest.raises(LineError, match=r"^line 2501: title: is required$"):
        _import(db, path, batch_size=1000)
    with db.unit() as session:
        assert count(session, Failure) == 0
        assert count(session, FailureLabel) == 0
        assert count(session, HistoryEntry) == 0
        assert search(session, "outage", viewer=SYSTEM) == []


def test_batches_then_ordinary_writes_keep_working(db: Database, tmp_path: Path) -> None:
    path = synthetic.write(tmp_path / "big.jsonl", 2500)
    result = _import(db, path, batch_size=1000)
    assert result.created == 2500
    with db.unit(actor="tester") as session:
        ids = list(session.scalars(select(Failure.id).order_by(Failure.id)))
        assert len(ids) == len(set(ids)) == 2500
        assert count(session, HistoryEntry) == 2500
        assert len(search(session, "outage", limit=5000, viewer=SYSTEM)) == 2500
        later = log_failure(session, title="Logged by hand after the import", viewer=SYSTEM)
        assert later.id > max(ids)
    again = _import(db, path, batch_size=700)
    assert (again.created, again.skipped) == (0, 2500)


def test_import_file_dispatches_and_refuses_unknown_formats(sqlite_db: Database, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "one.jsonl", [{"id": "x", "title": "One"}])
    with sqlite_db.unit() as session, path.open("rb") as stream:
        assert import_file(session, stream, format="public-postmortems", viewer=SYSTEM).created == 1
    with sqlite_db.unit() as session, pytest.raises(Exception, match="format"):
        import_file(session, [], format="csv", viewer=SYSTEM)


def test_session_is_usable_after_import(session: Session, tmp_path: Path) -> None:
    """The ORM sees the bulk rows in the same transaction (the fixture commits at the end)."""
    path = write_lines(tmp_path / "one.jsonl", [{"id": "x", "title": "One", "categories": ["A", "b"]}])
    with path.open("rb") as stream:
        import_public_postmortems(session, stream, viewer=SYSTEM)
    failure = session.scalar(select(Failure).where(Failure.external_id == "x"))
    assert failure is not None and failure.labels == ["A", "b"]


def test_a_database_error_while_writing_propagates_and_leaves_nothing(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lessonloop.portability import bulk

    calls = {"n": 0}
    real = bulk.index_documents

    def flaky(conn: Any, docs: Any, *, new: bool = False, vectors: Any = None) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full (simulated)")
        real(conn, docs, new=new, vectors=vectors)

    monkeypatch.setattr(bulk, "index_documents", flaky)
    path = synthetic.write(tmp_path / "big.jsonl", 3500)
    with pytest.raises(RuntimeError, match="disk full"):
        _import(db, path, batch_size=500)
    with db.unit() as session:
        assert count(session, Failure) == 0 and count(session, HistoryEntry) == 0


def test_progress_reports_every_byte(sqlite_db: Database, tmp_path: Path) -> None:
    path = synthetic.write(tmp_path / "pm.jsonl", 1000)
    seen: list[int] = []
    _import(sqlite_db, path, progress=seen.append)
    assert sum(seen) == path.stat().st_size and len(seen) > 1


def test_an_id_clash_while_writing_is_a_conflict_and_leaves_nothing(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lessonloop.errors import Conflict
    from lessonloop.portability.bulk import BulkLoader

    monkeypatch.setattr(BulkLoader, "allocate_ids", lambda self, model, n: [1] * n)  # a broken allocator
    path = write_lines(tmp_path / "two.jsonl", [{"id": "a", "title": "A"}, {"id": "b", "title": "B"}])
    with pytest.raises(Conflict, match="nothing was imported"):
        _import(db, path)
    with db.unit() as session:
        assert count(session, Failure) == 0
