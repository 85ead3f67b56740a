"""The discussion travels in a native export: whole, and as one person may see it."""

from __future__ import annotations

import io
import json

from sqlalchemy import func, select

from lessonloop.access.viewer import viewer_for
from lessonloop.discussion.models import Attachment, Comment, FailureLink, TimelineEntry
from lessonloop.discussion.service import add_attachment, add_comment, add_link, add_timeline_entry
from lessonloop.people.models import Person
from lessonloop.people.service import add_person
from lessonloop.portability.native import export_workspace, import_native
from lessonloop.store.engine import Database
from tests.factories import SYSTEM, failure, team_with_people
from tests.portability.helpers import export_text, wipe


def _discussed(db: Database) -> None:
    with db.unit(actor="test") as s:
        people = team_with_people(s)
        add_person(s, name="Cleo Outsider", handle="cleo", viewer=SYSTEM)
        f = failure(s, visibility="team", team=people["team"].id, reporter="ben")
        add_comment(s, target="failure", target_id=f.id, text="@ana look", author="ben", viewer=SYSTEM)
        add_timeline_entry(
            s, failure_id=f.id, at="2026-05-01 14:05", text="slip", author="ben", viewer=SYSTEM
        )
        add_link(s, failure_id=f.id, url="https://example.com/1", label="Incident", viewer=SYSTEM)
        add_attachment(s, failure_id=f.id, filename="n.bin", data=b"\x00\xffbytes", viewer=SYSTEM)


def test_comments_timeline_links_and_files_round_trip(db: Database) -> None:
    _discussed(db)
    first = export_text(db)
    types = {json.loads(line)["type"] for line in first.splitlines()}
    assert {"comment", "timeline_entry", "failure_link", "attachment"} <= types
    wipe(db)
    with db.unit(actor="restorer") as s:
        import_native(s, io.BytesIO(first.encode("utf-8")), viewer=SYSTEM)
    assert export_text(db) == first
    with db.unit() as s:
        for model in (Comment, TimelineEntry, FailureLink, Attachment):
            assert s.scalar(select(func.count(model.id))) == 1
        assert s.scalars(select(Attachment.data)).one() == b"\x00\xffbytes"


def test_a_persons_export_leaves_out_the_discussion_of_what_they_may_not_see(db: Database) -> None:
    _discussed(db)
    with db.unit() as s:
        for handle, expected in (("ana", 1), ("cleo", 0)):
            out = io.StringIO()
            person = s.scalars(select(Person).where(Person.handle == handle)).one()
            export_workspace(s, out, viewer=viewer_for(s, person))
            types = [json.loads(line)["type"] for line in out.getvalue().splitlines()]
            for kind in ("comment", "timeline_entry", "failure_link", "attachment"):
                assert types.count(kind) == expected, (handle, kind)
