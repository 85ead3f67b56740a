"""A public post-mortems import while others write (issue #17, item 10).

The import commits in chunks so other writers get the write lock between them; every chunk holds
whole records (failure, labels, history, search document), so nothing half-imported is ever
visible; a write that lands in the middle never aborts the import; and an import killed with
SIGKILL is completed by running it again, without duplicates. Both backends.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import select, text

from lessonloop.failures.models import Failure
from lessonloop.failures.service import log_failure, update_failure
from lessonloop.portability import import_public_postmortems
from lessonloop.portability.bulk import BulkLoader
from lessonloop.store.engine import Database
from lessonloop.store.history import HistoryEntry
from lessonloop.store.search import doc_id
from tests.factories import SYSTEM
from tests.portability import synthetic

CLI = [sys.executable, "-c", "from lessonloop.cli.main import main; main()"]


def _snapshot(db: Database) -> dict[str, int]:
    """Imported failures, and how many of them have labels, a search document and a ``create``
    history entry, counted by ONE statement (one snapshot on both backends): what a reader sees."""
    lo = doc_id("failure", 0)
    docs = (
        "SELECT count(*) FROM search_fts WHERE rowid >= :lo AND rowid - :lo IN "
        "(SELECT id FROM failures WHERE external_id IS NOT NULL)"
        if db.engine.dialect.name == "sqlite"
        else "SELECT count(*) FROM search_documents d JOIN failures f "
        "ON d.kind = 'failure' AND d.record_id = f.id WHERE f.external_id IS NOT NULL"
    )
    sql = f"""
        SELECT
          (SELECT count(*) FROM failures WHERE external_id IS NOT NULL),
          (SELECT count(DISTINCT external_id) FROM failures WHERE external_id IS NOT NULL),
          (SELECT count(DISTINCT l.failure_id) FROM failure_labels l
             JOIN failures f ON f.id = l.failure_id WHERE f.external_id IS NOT NULL),
          (SELECT count(*) FROM history h JOIN failures f
             ON h.record_type = 'failure' AND h.record_id = f.id AND h.action = 'create'
             WHERE f.external_id IS NOT NULL),
          ({docs})
    """
    with db.engine.connect() as conn:
        row = conn.execute(text(sql), {"lo": lo}).one()
    return dict(zip(("failures", "distinct", "labelled", "history", "docs"), map(int, row), strict=True))


def _whole(snap: dict[str, int]) -> bool:
    """Every imported failure has its labels (each synthetic record has one or two), its history
    entry and its search document, and no external id is there twice."""
    return len(set(snap.values())) == 1


class Writers:
    """Threads that log and edit failures through the service layer, each in its own unit of
    work, until stopped; any exception is kept (none is expected)."""

    def __init__(self, db: Database, n: int, target: int) -> None:
        self.db, self.target = db, target
        self.stop = threading.Event()
        self.created: list[int] = []
        self.edits = 0
        self.errors: list[BaseException] = []
        self.started = threading.Barrier(n + 1)
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(n)]

    def _run(self, i: int) -> None:
        n = 0
        try:
            while True:
                with self.db.unit(actor=f"writer-{i}") as session:
                    if n % 2 and self.created:
                        update_failure(session, self.target, {"impact": f"edit {i}.{n}"}, viewer=SYSTEM)
                        created = None
                    else:
                        created = log_failure(
                            session, title=f"Written by hand {i}.{n}", labels=["hand"], viewer=SYSTEM
                        ).id
                with self.lock:
                    if created is None:
                        self.edits += 1
                    else:
                        self.created.append(created)
                if n == 0:
                    self.started.wait()
                n += 1
                if self.stop.is_set():
                    return
        except BaseException as exc:  # reported by the test
            self.errors.append(exc)
            if n == 0:
                self.started.abort()

    def __enter__(self) -> Writers:
        for t in self.threads:
            t.start()
        self.started.wait()  # every writer has committed once: they are all running now
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()


@pytest.mark.parametrize("writers", [6])
def test_an_import_completes_while_writers_write_and_lets_them_through(
    db: Database, tmp_path: Path, writers: int
) -> None:
    path = synthetic.write(tmp_path / "pm.jsonl", 3000)
    with db.unit(actor="setup") as session:
        target = log_failure(session, title="Edited while the import runs", viewer=SYSTEM).id
    seen: list[dict[str, int]] = []
    watching = threading.Event()

    def watch() -> None:  # a reader: what it sees between chunks must always be whole records
        while not watching.is_set():
            seen.append(_snapshot(db))

    reader = threading.Thread(target=watch, daemon=True)
    with Writers(db, writers, target) as running:
        reader.start()
        with db.unit(actor="importer") as session, path.open("rb") as stream:
            result = import_public_postmortems(session, stream, viewer=SYSTEM, batch_size=250, chunk_size=500)
        during = len(running.created) + running.edits
    watching.set()
    reader.join()

    assert running.errors == []
    assert (result.created, result.skipped) == (3000, 0)
    snap = _snapshot(db)
    assert snap["failures"] == 3000 and _whole(snap), snap
    assert all(_whole(s) for s in seen), [s for s in seen if not _whole(s)][:3]
    with db.unit() as session:
        hand = set(session.scalars(select(Failure.id).where(Failure.external_id.is_(None))))
        assert hand == {target, *running.created}  # every write the writers saw succeed is there
        # Writers got the lock between the import's chunks: some of their history entries sit
        # between the import's first and last (one transaction would keep the import's together).
        imported = select(HistoryEntry.id).where(HistoryEntry.actor == "importer")
        first, last = min(session.scalars(imported)), max(session.scalars(imported))
        between = session.scalars(
            select(HistoryEntry.id).where(
                HistoryEntry.actor.like("writer-%"), HistoryEntry.id > first, HistoryEntry.id < last
            )
        ).all()
    assert during > 0 and between, "no writer got through while the import ran"


def test_a_record_written_by_someone_else_meanwhile_is_skipped_not_an_abort(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between two chunks another writer logs a failure with an external id the next chunk holds:
    that chunk is written again without it, and the import goes on."""
    path = synthetic.write(tmp_path / "pm.jsonl", 1200)
    clash = "synthetic-7-0001100"  # in the third chunk of 500
    real_commit = BulkLoader.commit
    commits = {"n": 0}

    def commit_then_someone_writes(self: BulkLoader) -> None:
        real_commit(self)
        commits["n"] += 1
        if commits["n"] == 1:
            with db.unit(actor="someone") as other:
                log_failure(other, title="Logged by hand with the same id", external_id=clash, viewer=SYSTEM)

    monkeypatch.setattr(BulkLoader, "commit", commit_then_someone_writes)
    with db.unit(actor="importer") as session, path.open("rb") as stream:
        result = import_public_postmortems(session, stream, viewer=SYSTEM, batch_size=250, chunk_size=500)
    assert (result.created, result.skipped) == (1199, 1)
    snap = _snapshot(db)
    assert snap["failures"] == 1200 and snap["distinct"] == 1200 and snap["docs"] == 1200
    with db.unit() as session:
        mine = session.scalar(select(Failure).where(Failure.external_id == clash))
        assert mine is not None and mine.title == "Logged by hand with the same id"


def _import_argv(url: str, path: Path, *extra: str) -> list[str]:
    return [
        *CLI,
        "--database-url",
        url,
        "--as",
        "importer",
        "import",
        str(path),
        "-f",
        "public-postmortems",
        *extra,
    ]


_ENV = {**os.environ, "COLUMNS": "200"}


def test_an_import_killed_mid_way_leaves_whole_records_and_a_rerun_completes_it(
    db: Database, tmp_path: Path
) -> None:
    n, chunk = 4000, 200
    path = synthetic.write(tmp_path / "pm.jsonl", n)
    argv = _import_argv(db.settings.database_url, path, "--json", "--chunk", str(chunk))
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_ENV)
    try:
        while proc.poll() is None:  # kill it as soon as a chunk is visible
            snap = _snapshot(db)
            assert _whole(snap), snap
            if snap["failures"] >= chunk:
                os.kill(proc.pid, signal.SIGKILL)
                break
    finally:
        proc.wait()
        out, err = proc.communicate()
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, out, err)
    at_kill = _snapshot(db)
    # Whole chunks of whole records: committed chunks only, nothing of the one being written.
    assert _whole(at_kill) and 0 < at_kill["failures"] < n and at_kill["failures"] % chunk == 0, at_kill

    argv = _import_argv(db.settings.database_url, path, "--json")
    rerun = subprocess.run(argv, capture_output=True, text=True, env=_ENV)
    assert rerun.returncode == 0, rerun.stderr
    assert '"created": ' + str(n - at_kill["failures"]) in rerun.stdout, rerun.stdout
    final = _snapshot(db)
    assert final["failures"] == n and _whole(final), final
