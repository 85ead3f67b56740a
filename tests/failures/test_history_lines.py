"""The failure page's history, readable: field labels, names for ids, relative and absolute time."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from lessonloop.actions.models import Action
from lessonloop.actions.service import edit_action
from lessonloop.failures.history import failure_history, relative_time
from lessonloop.failures.service import update_failure
from lessonloop.reviews.service import review_for_failure
from tests.factories import SYSTEM, failure, reviewed, team_with_people

NOW = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)


def test_relative_time() -> None:
    assert relative_time(NOW - dt.timedelta(seconds=5), NOW) == "just now"
    assert relative_time(NOW - dt.timedelta(minutes=1), NOW) == "1 minute ago"
    assert relative_time(NOW - dt.timedelta(hours=3), NOW) == "3 hours ago"
    assert relative_time(NOW - dt.timedelta(days=1, hours=2), NOW) == "yesterday"
    assert relative_time(NOW - dt.timedelta(days=90), NOW) == "3 months ago"


def test_history_lines_use_field_labels_and_names(session: Session) -> None:
    team_with_people(session)
    f = failure(session, title="Old title", team="Payments")
    reviewed(session, f)
    action = session.scalars(select(Action).where(Action.failure_id == f.id)).one()
    session.info["actor"] = "ana"
    update_failure(session, f.id, {"title": "New title", "observation": "What we saw"}, viewer=SYSTEM)
    edit_action(session, action.id, {"owner": "ana"}, viewer=SYSTEM)
    review = review_for_failure(session, f.id, viewer=SYSTEM)
    lines = failure_history(session, f, review=review, actions=[action], now=NOW, viewer=SYSTEM)
    newest = lines[0]
    assert newest.who == "Ana Lead (ana)" and newest.verb == "changed"
    assert newest.record.startswith(f"Action {action.id} (")
    assert [(c.label, c.old, c.new) for c in newest.changes] == [("Owner", "Ben Member", "Ana Lead")]
    title = next(line for line in lines if line.record == "Failure" and line.verb == "changed")
    assert ("Title", "Old title", "New title") in [(c.label, c.old, c.new) for c in title.changes]
    assert ("Description", "—", "What we saw") in [(c.label, c.old, c.new) for c in title.changes]
    assert title.absolute.endswith(" UTC")
    assert all(c.label not in {"updated_at", "Specificity"} for line in lines for c in line.changes)
