"""The native export keeps the review templates and a review's extra answers; a person's export
has the templates (anyone may read them)."""

from __future__ import annotations

import io
import json

from sqlalchemy import select

from lessonloop.access.viewer import viewer_for
from lessonloop.people.service import get_person
from lessonloop.portability import import_native
from lessonloop.portability.native import export_workspace
from lessonloop.reviews.models import Review
from lessonloop.reviews.templates import get_template, set_template
from lessonloop.store.engine import Database
from tests.factories import SYSTEM, failure, reviewed, team_with_people
from tests.portability.helpers import export_text, wipe

ANSWERS = {
    "whys": ["No written date", "Nobody asked"],
    "timeline": [{"time": "Mon 09:00", "text": "Vendor said it slips"}],
}


def test_the_templates_and_extra_answers_survive_export_and_import(db: Database) -> None:
    with db.unit(actor="test") as session:
        team_with_people(session)
        set_template(
            session,
            "missed-deadline",
            [
                {"key": "whys", "label": "Five whys", "type": "list"},
                {"key": "timeline", "label": "Timeline", "type": "timeline"},
            ],
            viewer=SYSTEM,
        )
        reviewed(session, failure(session), extra_answers=ANSWERS)
    exported = export_text(db)
    lines = [json.loads(line) for line in exported.splitlines()]
    assert [r["extra_answers"] for r in lines if r["type"] == "review"] == [ANSWERS]
    assert [r["kind"] for r in lines if r["type"] == "review_template"] == ["missed-deadline"]

    wipe(db)
    with db.unit(actor="restorer") as session:
        import_native(session, io.BytesIO(exported.encode("utf-8")), viewer=SYSTEM)
    with db.unit() as session:
        review = session.scalar(select(Review))
        assert review is not None and review.extra_answers == ANSWERS
        assert get_template(session, "missed-deadline", viewer=SYSTEM).customized
    assert export_text(db) == exported


def test_a_persons_export_has_the_templates(db: Database) -> None:
    with db.unit(actor="test") as session:
        team_with_people(session)
        set_template(session, "other", [{"key": "whys", "label": "Five whys", "type": "list"}], viewer=SYSTEM)
    buf = io.StringIO()
    with db.unit() as session:
        ben = viewer_for(session, get_person(session, "ben", viewer=SYSTEM))
        export_workspace(session, buf, viewer=ben)
    assert '"type":"review_template"' in buf.getvalue()
