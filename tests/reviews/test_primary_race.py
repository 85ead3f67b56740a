"""Two requests adding the primary action of one review at once: exactly one wins (issue #11).

Both sessions pass ``add_action``'s "is there a primary action already?" check before either
commits; the partial unique index ``uq_actions_one_primary`` must refuse the second insert,
and the service must answer that with a Conflict (409), not a server error.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import event, func, select

from lessonloop.actions.models import Action
from lessonloop.errors import Conflict
from lessonloop.reviews.service import add_review_action, start_review
from lessonloop.store.engine import Database
from tests.factories import SYSTEM, failure, team_with_people

SPEC = {"title": "Add a dated-dependency step to the kickoff", "owner": "ben", "due_date": "2026-12-10"}
WAIT_S = 20.0  # a bound against hanging, never a measured time


def _past_the_check(statement: str, dialect: str) -> bool:
    """B has looked for a primary action (and found none: A has not committed), or, on SQLite,
    opens the savepoint it writes in: SQLite writers queue, so B can go no further until A
    commits, and its check then sees A's action. On PostgreSQL B's check runs before A commits
    and only the index can refuse B's insert."""
    text = statement.lower().lstrip()
    if text.startswith("savepoint"):
        return dialect == "sqlite"
    return text.startswith("select") and "from actions" in text and "is_primary" in text


def test_two_sessions_racing_for_the_primary_action_get_one(db: Database) -> None:
    with db.unit(actor="tester") as session:
        team_with_people(session)
        review_id = start_review(session, failure(session).id, viewer=SYSTEM).id

    b_checked = threading.Event()
    outcome: dict[str, Any] = {}

    def b_adds() -> None:
        try:
            with db.unit(actor="b") as session:
                conn = session.connection()
                # after the check has run (its answer is fixed), before the savepoint runs
                event.listen(conn, "after_cursor_execute", _signal_after_check)
                if db.engine.dialect.name == "sqlite":
                    event.listen(conn, "before_cursor_execute", _signal_after_check)
                outcome["b"] = add_review_action(session, review_id, SPEC, primary=True, viewer=SYSTEM).id
        except Exception as exc:  # recorded for the assertions below
            outcome["b"] = exc
        finally:
            b_checked.set()

    def _signal_after_check(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if _past_the_check(statement, db.engine.dialect.name):
            b_checked.set()  # A's primary action is not committed yet

    with db.unit(actor="a") as session_a:
        add_review_action(session_a, review_id, SPEC, primary=True, viewer=SYSTEM)  # flushed
        b = threading.Thread(target=b_adds)
        b.start()
        b_checked.wait(WAIT_S)
    # A has committed; B now inserts its own primary action.
    b.join(WAIT_S)
    assert not b.is_alive()

    assert isinstance(outcome["b"], Conflict), outcome["b"]
    assert outcome["b"].field == "primary"
    with db.unit() as session:
        count = select(func.count()).where(Action.review_id == review_id, Action.is_primary)
        assert session.scalar(count) == 1
