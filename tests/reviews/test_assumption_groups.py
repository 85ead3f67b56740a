"""Each named assumption carries its review's failure's visibility group (migration 0030).

``review_assumptions.visibility`` / ``team_key`` are written by the database's triggers only;
these tests write through the services, raw SQL (one row and many rows per statement) and
cascades, and compare the copies with the failures' own columns, then compare each person's
most-named failed assumptions (read off the copies, decision 73) with a count that joins every
review's failure under the visibility rule. Both backends.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, literal_column, select, text
from sqlalchemy.orm import Session

from lessonloop.access.viewer import Viewer
from lessonloop.failures.models import Failure
from lessonloop.failures.service import delete_failure, update_failure
from lessonloop.reviews.models import Assumption, Review, review_assumptions
from lessonloop.reviews.service import record_assumption
from lessonloop.signals import metrics
from tests.factories import SYSTEM, failure, reviewed
from tests.failures.test_counts import _viewers, _workspace
from tests.signals.test_top_assumptions import reference

ra = review_assumptions.c
STATEMENTS = ["Vendors keep verbal dates", "The cache is always warm", "Staging matches production"]


def _copies_match(session: Session) -> int:
    """Every row's group equals its review's failure's; returns how many rows there are."""
    session.flush()
    rows = session.execute(
        select(
            ra.visibility,
            ra.team_key,
            Failure.visibility,
            func.coalesce(Failure.team_id, literal_column("0")),
        )
        .join(Review, Review.id == ra.review_id)
        .join(Failure, Failure.id == Review.failure_id)
    ).all()
    assert [tuple(r[:2]) for r in rows] == [tuple(r[2:]) for r in rows]
    assert session.scalar(select(func.count()).select_from(review_assumptions)) == len(rows)
    return len(rows)


def _reviewed_workspace(session: Session) -> dict[str, Any]:
    w = _workspace(session)  # 27 failures: every visibility × Payments, Growth, no team
    failures = session.scalars(select(Failure).order_by(Failure.id)).all()
    for i, f in enumerate(failures[:-3]):  # the last three keep no review
        reviewed(session, f, assumptions=STATEMENTS[: 1 + i % 3])
    for statement in STATEMENTS:
        record_assumption(session, statement, status="failed", viewer=SYSTEM)
    return w


def _everyone_counts_what_they_see(session: Session, w: dict[str, Any]) -> None:
    session.flush()
    for viewer in _viewers(session, w):
        if isinstance(viewer, Viewer):
            assert metrics._top_failed_assumptions(session, viewer) == reference(session, viewer, 10), viewer


def test_a_new_row_takes_its_failures_group(session: Session) -> None:
    w = _reviewed_workspace(session)
    assert _copies_match(session) == 8 * 1 + 8 * 2 + 8 * 3
    _everyone_counts_what_they_see(session, w)


def test_the_copies_follow_a_failure_that_changes_group(session: Session) -> None:
    w = _reviewed_workspace(session)
    org = session.scalars(select(Failure).where(Failure.visibility == "org").order_by(Failure.id)).all()
    update_failure(session, org[0].id, {"visibility": "private"}, viewer=SYSTEM)
    update_failure(session, org[1].id, {"team": "Growth"}, viewer=SYSTEM)
    update_failure(session, org[2].id, {"team": ""}, viewer=SYSTEM)
    update_failure(session, org[3].id, {"title": "Only the title"}, viewer=SYSTEM)
    _copies_match(session)
    _everyone_counts_what_they_see(session, w)


def test_the_copies_follow_a_bulk_change_and_a_moved_review(session: Session) -> None:
    w = _reviewed_workspace(session)
    session.flush()
    # Many failures in one statement (PostgreSQL: one statement trigger for all of them).
    session.execute(text("UPDATE failures SET visibility = 'private' WHERE visibility = 'team'"))
    session.execute(text("UPDATE failures SET team_id = :t WHERE team_id IS NULL"), {"t": w["growth"].id})
    # A review moved to a failure that had none, in another group.
    lonely = session.scalars(
        select(Failure).where(Failure.id.not_in(select(Review.failure_id))).order_by(Failure.id)
    ).first()
    assert lonely is not None
    session.execute(text("UPDATE failures SET visibility = 'org' WHERE id = :id"), {"id": lonely.id})
    moved = session.scalars(select(Review).order_by(Review.id.desc())).first()
    assert moved is not None
    session.execute(text("UPDATE reviews SET failure_id = :f WHERE id = :r"), {"f": lonely.id, "r": moved.id})
    session.expire_all()
    _copies_match(session)
    _everyone_counts_what_they_see(session, w)


def test_rows_written_by_sql_and_removed_by_cascades(session: Session) -> None:
    w = _reviewed_workspace(session)
    extra = record_assumption(session, "Nobody reads the runbook", status="failed", viewer=SYSTEM)
    session.flush()
    reviews = session.scalars(select(Review).order_by(Review.id)).all()
    # Inserted by SQL without the group (an import, a restore): the database fills it.
    session.execute(
        insert(review_assumptions), [{"review_id": r.id, "assumption_id": extra.id} for r in reviews[::2]]
    )
    _copies_match(session)
    _everyone_counts_what_they_see(session, w)
    before = _copies_match(session)
    delete_failure(session, reviews[0].failure_id, viewer=SYSTEM)  # its review and its rows go too
    assert _copies_match(session) < before
    session.delete(session.get(Assumption, extra.id))
    _copies_match(session)
    _everyone_counts_what_they_see(session, w)


def test_a_review_of_a_new_failure_in_one_flush(session: Session) -> None:
    w = _reviewed_workspace(session)
    f = failure(session, title="New and private", visibility="private", team="Growth", reporter="ben")
    reviewed(session, f, assumptions=["A brand new failed belief", *STATEMENTS])
    record_assumption(session, "A brand new failed belief", status="failed", viewer=SYSTEM)
    _copies_match(session)
    _everyone_counts_what_they_see(session, w)
