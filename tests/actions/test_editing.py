"""Editing an action (owner, dates), back-filled done dates and the past-due rule for new actions."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from lessonloop.actions.models import is_past, today_utc
from lessonloop.actions.service import add_action, complete_action, edit_action
from lessonloop.errors import Invalid
from lessonloop.store.history import list_history
from tests.factories import SYSTEM, failure, team_with_people

TODAY = today_utc()


@pytest.fixture(autouse=True)
def _today_as_the_test_runs() -> None:
    """TODAY as each test starts, not at import: a suite crossing midnight UTC saw yesterday."""
    global TODAY
    TODAY = today_utc()


def _day(offset: int) -> str:
    return (TODAY + dt.timedelta(days=offset)).isoformat()


def _action(session: Session, **kw: object) -> int:
    team_with_people(session)
    f = failure(session)
    fields: dict[str, object] = {"title": "Add a dated check", "owner": "ben", "due_date": _day(7)}
    fields.update(kw)
    return add_action(session, failure_id=f.id, viewer=SYSTEM, **fields).id


def test_past_is_before_today_in_utc() -> None:
    assert is_past(TODAY - dt.timedelta(days=1))
    assert not is_past(TODAY)
    assert is_past(dt.date(2026, 3, 1), today=dt.date(2026, 3, 2))


def test_a_new_action_due_in_the_past_is_refused_at_its_due_date(session: Session) -> None:
    with pytest.raises(Invalid) as err:
        _action(session, due_date=_day(-3))
    assert err.value.field == "due_date"
    assert err.value.message.startswith(f"Due date {_day(-3)} is in the past")
    assert "back-fill" in err.value.message


def test_a_back_filled_action_may_be_due_in_the_past(session: Session) -> None:
    action_id = _action(session, due_date=_day(-30), backfill=True)
    action = edit_action(session, action_id, {}, viewer=SYSTEM)
    assert action.due_date == TODAY - dt.timedelta(days=30)


def test_an_action_due_today_is_not_in_the_past(session: Session) -> None:
    assert _action(session, due_date=_day(0))


def test_edit_reassigns_the_owner_and_moves_the_dates_with_history(session: Session) -> None:
    action_id = _action(session)
    action = edit_action(
        session,
        action_id,
        {"owner": "ana", "due_date": _day(10), "review_date": _day(30)},
        viewer=SYSTEM,
    )
    assert action.owner.handle == "ana"
    assert (action.due_date, action.review_date) == (
        TODAY + dt.timedelta(days=10),
        TODAY + dt.timedelta(days=30),
    )
    last = list_history(session, "action", action_id)[-1]
    assert last.action == "update" and last.actor == "tester"
    assert last.changes["due_date"] == [_day(7), _day(10)]
    assert last.changes["owner_id"][1] == action.owner_id


def test_edit_refuses_a_past_due_date_unless_back_filled(session: Session) -> None:
    action_id = _action(session)
    with pytest.raises(Invalid) as err:
        edit_action(session, action_id, {"due_date": _day(-2)}, viewer=SYSTEM)
    assert err.value.field == "due_date"
    action = edit_action(session, action_id, {"due_date": _day(-2)}, backfill=True, viewer=SYSTEM)
    assert action.due_date == TODAY - dt.timedelta(days=2)


def test_edit_keeps_one_owner_and_a_review_date_after_the_due_date(session: Session) -> None:
    action_id = _action(session)
    with pytest.raises(Invalid) as err:
        edit_action(session, action_id, {"owner": ""}, viewer=SYSTEM)
    assert (err.value.field, err.value.message) == ("owner", "every action needs exactly one owner")
    with pytest.raises(Invalid) as err:
        edit_action(session, action_id, {"review_date": _day(1)}, viewer=SYSTEM)
    assert err.value.field == "review_date"
    with pytest.raises(Invalid) as err:
        edit_action(session, action_id, {"status": "done"}, viewer=SYSTEM)
    assert err.value.field == "status"


def test_a_done_date_can_be_back_filled(session: Session) -> None:
    action_id = _action(session, due_date=_day(-20), backfill=True)
    done = complete_action(session, action_id, evidence="merged", done_at=_day(-25), viewer=SYSTEM)
    assert done.closed_at == dt.datetime.combine(TODAY - dt.timedelta(days=25), dt.time(), dt.UTC)


def test_a_done_date_in_the_future_is_refused(session: Session) -> None:
    action_id = _action(session)
    with pytest.raises(Invalid) as err:
        complete_action(session, action_id, evidence="merged", done_at=_day(2), viewer=SYSTEM)
    assert err.value.field == "done_at"
