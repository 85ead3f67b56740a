"""A native export is one snapshot: writes that land while it runs are not in it (issue #17:
with SQLite's autocommit reads and PostgreSQL's READ COMMITTED, each table was read as of a
different moment, so an export taken under load could disagree with itself)."""

from __future__ import annotations

import io
import json

from lessonloop.portability import export_workspace
from lessonloop.store.engine import Database
from tests.factories import SYSTEM, failure


class WritesMidExport(io.StringIO):
    """An output that lets another connection commit new failures as soon as the header is out."""

    def __init__(self, db: Database) -> None:
        super().__init__()
        self.db = db
        self.wrote = False

    def write(self, s: str) -> int:
        if not self.wrote:
            self.wrote = True
            with self.db.unit(actor="meanwhile") as other:
                failure(other, title="Committed during the export")
                failure(other, title="Also committed during it")
        return super().write(s)


def test_an_export_is_one_snapshot_while_others_commit(db: Database) -> None:
    with db.unit(actor="tester") as session:
        for n in range(3):
            failure(session, title=f"Before the export {n}")
    out = WritesMidExport(db)
    with db.unit() as session:
        counts = export_workspace(session, out, viewer=SYSTEM)
    assert out.wrote
    records = [json.loads(line) for line in out.getvalue().splitlines()[1:]]
    failures = [r for r in records if r["type"] == "failure"]
    created = [r for r in records if r["type"] == "history" and r["record_type"] == "failure"]
    assert counts["failure"] == len(failures) == len(created) == 3
    with db.unit() as session:  # the writes did commit
        assert export_workspace(session, io.StringIO(), viewer=SYSTEM)["failure"] == 5
