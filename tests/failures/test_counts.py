"""The failure list's total from kept per-group counts equals counting the visible failures.

``failure_counts`` is kept by database triggers (migration 0024); these tests write through the
services, raw SQL and cascades and compare it with ``GROUP BY`` over ``failures``, and compare
``visible_failure_total`` with ``count(*)`` under the visibility rule for every kind of viewer.
"""

from __future__ import annotations

from sqlalchemy import delete, func, literal_column, select, text, update
from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor
from lessonloop.access.policy import visible_failures_clause
from lessonloop.access.scope import where_visible
from lessonloop.access.viewer import Viewer, viewer_for
from lessonloop.failures.counts import visible_failure_total
from lessonloop.failures.models import Failure, FailureCount
from lessonloop.failures.service import delete_failure, list_failures, update_failure
from lessonloop.people.models import Team
from lessonloop.people.service import add_member, add_person, add_team
from tests.factories import SYSTEM, failure, team_with_people


def _kept_matches_the_table(session: Session) -> None:
    session.flush()
    kept: dict[tuple[str, int], int] = {}  # summed over statuses (kept per status since 0026)
    for v, t, n in session.execute(select(FailureCount.visibility, FailureCount.team_key, FailureCount.n)):
        kept[(v, t)] = kept.get((v, t), 0) + n
    team_key = func.coalesce(Failure.team_id, literal_column("0"))
    actual = session.execute(
        select(Failure.visibility, team_key, func.count()).group_by(Failure.visibility, team_key)
    ).all()
    assert {k: n for k, n in kept.items() if n} == {(v, t): n for v, t, n in actual}


def _counted(session: Session, viewer: Actor) -> int:
    stmt = where_visible(select(Failure.id), viewer, visible_failures_clause(viewer))
    return int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


def _workspace(session: Session) -> dict[str, object]:
    people = team_with_people(session)  # Payments: ana lead, ben member
    growth = add_team(session, name="Growth", viewer=SYSTEM)
    gil = add_person(session, name="Gil", handle="gil", viewer=SYSTEM)
    add_member(session, team=growth, person=gil, role="lead", viewer=SYSTEM)
    loner = add_person(session, name="Lone Reporter", handle="loner", viewer=SYSTEM)
    teams = [people["team"], growth, None]
    n = 0
    for visibility in ("org", "team", "private"):
        for team in teams:
            for k in range(3):
                n += 1
                failure(
                    session,
                    title=f"Failure {n}",
                    visibility=visibility,
                    team=team,
                    reporter=loner if k == 0 else None,
                    people=["ben"] if k == 1 and team is growth else [],
                )
    return {"growth": growth, "loner": loner, "gil": gil, **people}


def _viewers(session: Session, w: dict[str, object]) -> list[Actor]:
    admin = Viewer(person_id=w["gil"].id, is_admin=True, roles={w["growth"].id: "member"})  # type: ignore[attr-defined]
    return [
        SYSTEM,
        viewer_for(session, w["ana"]),  # lead of Payments
        viewer_for(session, w["ben"]),  # member of Payments, involved in Growth failures
        viewer_for(session, w["gil"]),  # lead of Growth
        viewer_for(session, w["loner"]),  # in no team, reported some failures
        admin,
        Viewer(person_id=10_000),  # nobody in particular
    ]


def test_the_total_equals_counting_the_visible_failures(session: Session) -> None:
    w = _workspace(session)
    _kept_matches_the_table(session)
    for viewer in _viewers(session, w):
        expected = _counted(session, viewer)
        assert visible_failure_total(session, viewer=viewer) == expected, viewer
        # the list uses it when a full first page does not end the list
        assert list_failures(session, page=1, page_size=2, viewer=viewer).total == expected, viewer


def test_writes_of_every_kind_keep_the_counts(session: Session) -> None:
    w = _workspace(session)
    ids = session.scalars(select(Failure.id).order_by(Failure.id)).all()
    update_failure(session, ids[0], {"visibility": "private"}, viewer=SYSTEM)
    update_failure(session, ids[1], {"team": "Growth"}, viewer=SYSTEM)
    update_failure(session, ids[2], {"title": "Only the title changes"}, viewer=SYSTEM)
    delete_failure(session, ids[3], viewer=SYSTEM)
    _kept_matches_the_table(session)
    # raw SQL, several rows in one statement
    session.execute(update(Failure).where(Failure.id.in_(ids[4:8])).values(visibility="org"))
    session.execute(delete(Failure).where(Failure.id.in_(ids[8:10])))
    session.execute(text("UPDATE failures SET team_id = NULL WHERE id = :id"), {"id": ids[10]})
    _kept_matches_the_table(session)
    # a team deleted: its failures lose their team through the foreign key (ON DELETE SET NULL)
    session.execute(delete(Team).where(Team.id == w["growth"].id))  # type: ignore[attr-defined]
    session.expire_all()
    _kept_matches_the_table(session)
    for viewer in _viewers(session, w)[:3]:
        assert visible_failure_total(session, viewer=viewer) == _counted(session, viewer)
