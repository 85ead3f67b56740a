"""A back-filled done date and held date survive the native export and import."""

from __future__ import annotations

import datetime as dt
import io

from sqlalchemy import select

from lessonloop.actions.models import Action, today_utc
from lessonloop.actions.service import add_action, complete_action
from lessonloop.portability import import_native
from lessonloop.reviews.models import Review
from lessonloop.reviews.service import revise_review
from lessonloop.store.engine import Database
from tests.factories import SYSTEM, failure, reviewed, team_with_people
from tests.portability.helpers import export_text, wipe


def test_native_import_keeps_back_filled_dates(sqlite_db: Database) -> None:
    past = today_utc() - dt.timedelta(days=30)
    with sqlite_db.unit(actor="tester") as session:
        team_with_people(session)
        f = failure(session)
        review = reviewed(session, f)
        revise_review(session, review.id, {"held_at": past}, viewer=SYSTEM)
        action = add_action(
            session,
            failure_id=f.id,
            title="Add a check",
            owner="ben",
            due_date=past,
            backfill=True,
            viewer=SYSTEM,
        )
        complete_action(session, action.id, evidence="merged", done_at=past, viewer=SYSTEM)
        action_id = action.id
    exported = export_text(sqlite_db)
    wipe(sqlite_db)
    with sqlite_db.unit(actor="restorer") as session:
        import_native(session, io.BytesIO(exported.encode("utf-8")), viewer=SYSTEM)
    with sqlite_db.unit() as session:
        restored = session.get(Action, action_id)
        assert restored is not None and restored.due_date == past
        assert restored.closed_at == dt.datetime.combine(past, dt.time(), dt.UTC)
        held = session.scalars(select(Review.held_at)).one()
        assert held == dt.datetime.combine(past, dt.time(), dt.UTC)
