"""The dashboard's counts equal counting the records directly (decision 56).

"Awaiting review" and "being drafted" are sums of ``failure_counts`` kept per status by triggers
(migration 0026); "actions overdue today" is counted off covering indexes. These tests write
through the services, raw SQL (several rows per statement), an import (``COPY`` on PostgreSQL)
and cascades, and compare every count the dashboard shows with one computed in Python from the
rows with the policy's own ``can_see_failure`` and ``is_overdue``, for every kind of viewer.
"""

from __future__ import annotations

import datetime as dt
import io
import json

from sqlalchemy import delete, func, literal_column, select, text, update
from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor, is_system
from lessonloop.access.policy import can_see_failure
from lessonloop.actions.models import Action, is_overdue
from lessonloop.actions.service import add_action, complete_action, list_actions
from lessonloop.failures.listing import list_failure_rows
from lessonloop.failures.models import Failure, FailureCount
from lessonloop.failures.service import delete_failure, list_failures, update_failure
from lessonloop.people.models import Team
from lessonloop.portability import import_public_postmortems
from lessonloop.signals.metrics import chart_metrics
from tests.factories import SYSTEM
from tests.failures.test_counts import _viewers, _workspace

STATUSES = ("observed", "in-review", "acting", "learned")


def _kept_matches_the_table(session: Session) -> None:
    session.flush()
    kept = {
        (v, t, s): n
        for v, t, s, n in session.execute(
            select(FailureCount.visibility, FailureCount.team_key, FailureCount.status, FailureCount.n)
        )
    }
    team_key = func.coalesce(Failure.team_id, literal_column("0"))
    actual = session.execute(
        select(Failure.visibility, team_key, Failure.status, func.count()).group_by(
            Failure.visibility, team_key, Failure.status
        )
    ).all()
    assert {k: n for k, n in kept.items() if n} == {(v, t, s): n for v, t, s, n in actual}


def _sees(viewer: Actor, failure: Failure) -> bool:
    return is_system(viewer) or can_see_failure(viewer, failure)


def _check_dashboard(session: Session, viewers: list[Actor], today: dt.date) -> None:
    session.flush()
    session.expire_all()
    failures = {f.id: f for f in session.scalars(select(Failure))}
    actions = list(session.scalars(select(Action)))
    for viewer in viewers:
        visible = [f for f in failures.values() if _sees(viewer, f)]
        for status in STATUSES:
            expected = sum(1 for f in visible if f.status == status)
            # page_size 1: a full first page, so the total is computed, not read off the page
            assert list_failures(session, status=status, page_size=1, viewer=viewer).total == expected, (
                viewer,
                status,
            )
            rows = list_failure_rows(session, status=status, page_size=1, viewer=viewer)
            assert rows.total == expected, (viewer, status)
        assert list_failures(session, page_size=1, viewer=viewer).total == len(visible), viewer
        overdue = [
            a
            for a in actions
            if is_overdue(a.status, a.due_date, today) and _sees(viewer, failures[a.failure_id])
        ]
        totals = chart_metrics(session, today=today, months=12, viewer=viewer)["totals"]
        assert totals["actions_overdue"] == len(overdue), viewer
        teams = sorted(viewer.teams()) if not is_system(viewer) else []
        if teams:
            mine = [a for a in overdue if failures[a.failure_id].team_id in teams]
            page = list_actions(
                session, team_ids=teams, overdue=True, today=today, page_size=1, viewer=viewer
            )
            assert page.total == len(mine), viewer


def test_the_dashboard_counts_equal_direct_counts_through_every_kind_of_write(session: Session) -> None:
    today = dt.date.today()
    w = _workspace(session)
    viewers = _viewers(session, w)
    ids = session.scalars(select(Failure.id).order_by(Failure.id)).all()
    # open actions due before, on and after today; one done late
    for k, fid in enumerate(ids):
        add_action(
            session,
            failure_id=fid,
            title=f"Action {k}",
            owner="ben",
            due_date=today + dt.timedelta(days=(k % 5) - 3),
            backfill=True,
            viewer=SYSTEM,
        )
    first = session.scalars(select(Action.id).order_by(Action.id)).first()
    complete_action(session, first, evidence="Done, late", viewer=SYSTEM)
    _kept_matches_the_table(session)
    _check_dashboard(session, viewers, today)

    # status changes: raw SQL over several rows, the ORM's bulk update, one row
    session.execute(update(Failure).where(Failure.id.in_(ids[0:6])).values(status="in-review"))
    session.execute(
        text("UPDATE failures SET status = 'acting' WHERE id IN (:a, :b)"), {"a": ids[6], "b": ids[7]}
    )
    session.execute(
        text("UPDATE failures SET status = 'learned', visibility = 'org' WHERE id = :id"), {"id": ids[8]}
    )
    # team and visibility changes through the service, a title-only change
    update_failure(session, ids[9], {"visibility": "private"}, viewer=SYSTEM)
    update_failure(session, ids[10], {"team": "Growth"}, viewer=SYSTEM)
    update_failure(session, ids[11], {"title": "Only the title changes"}, viewer=SYSTEM)
    session.execute(
        text(
            "UPDATE actions SET status = 'dropped' WHERE id IN (SELECT id FROM actions WHERE failure_id = :f)"
        ),
        {"f": ids[12]},
    )
    _kept_matches_the_table(session)
    _check_dashboard(session, viewers, today)

    # several rows inserted by one statement, then deletes (service, raw, and a team's cascade)
    columns = ", ".join(c.name for c in Failure.__table__.columns if c.name not in ("id", "external_id"))
    session.execute(
        text(f"INSERT INTO failures ({columns}) SELECT {columns} FROM failures WHERE id IN (:a, :b, :c)"),
        {"a": ids[1], "b": ids[13], "c": ids[20]},
    )
    delete_failure(session, ids[14], viewer=SYSTEM)
    session.execute(delete(Failure).where(Failure.id.in_(ids[15:17])))
    _kept_matches_the_table(session)
    _check_dashboard(session, viewers, today)
    session.execute(delete(Team).where(Team.id == w["growth"].id))  # type: ignore[attr-defined]
    session.expire_all()
    _kept_matches_the_table(session)
    _check_dashboard(session, viewers, today)

    # an import: COPY on PostgreSQL, executemany on SQLite
    lines = [
        {
            "id": f"pm-{k}",
            "title": f"Imported outage number {k}",
            "text": "A router rule took down every edge router.",
            "company": "Example Co",
            "url": f"https://example.com/pm-{k}",
            "categories": ["Network"],
            "date": "2022-06-21",
            "source": "unit-test",
        }
        for k in range(3)
    ]
    stream = io.BytesIO("".join(json.dumps(line) + "\n" for line in lines).encode())
    import_public_postmortems(session, stream, viewer=SYSTEM)
    _kept_matches_the_table(session)
    _check_dashboard(session, viewers, today)
