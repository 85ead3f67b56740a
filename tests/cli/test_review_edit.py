"""`lessonloop review-edit`: correct a completed review from the terminal."""

from __future__ import annotations

import datetime as dt

from lessonloop.failures.models import Failure
from lessonloop.reviews.models import Review
from lessonloop.store.engine import Database
from tests.cli import Cli
from tests.cli.test_editing import _failure
from tests.factories import reviewed


def _reviewed(sqlite_db: Database, cli: Cli) -> str:
    fid = _failure(cli)
    with sqlite_db.unit(actor="test") as session:
        logged = session.get(Failure, int(fid))
        assert logged is not None
        reviewed(session, logged)
    return fid


def test_review_edit_corrects_the_review_and_it_is_in_the_history(sqlite_db: Database) -> None:
    cli = Cli(sqlite_db.settings.database_url)
    fid = _reviewed(sqlite_db, cli)
    held = (dt.date.today() - dt.timedelta(days=3)).isoformat()
    out = cli(
        "review-edit", fid, "--root-cause", "Refund retries had no idempotency key",
        "--gap-type", "process", "--why", "No step checks retries",
        "--factor", "Friday deploy", "--factor", "Nobody on call", "--held", held,
    ).stdout  # fmt: skip
    assert f"corrected the review of failure {fid}: root_cause, gap_type, gap_justification" in out
    with sqlite_db.unit() as session:
        review = session.query(Review).filter_by(failure_id=int(fid)).one()
        assert review.root_cause == "Refund retries had no idempotency key"
        assert (review.gap_type, review.contributing_factors) == (
            "process",
            ["Friday deploy", "Nobody on call"],
        )
        assert review.held_at is not None and review.held_at.date().isoformat() == held
    history = cli("history", fid, "--json").stdout
    assert '"root_cause"' in history and "Refund retries had no idempotency key" in history


def test_review_edit_prints_the_coachs_hints_and_still_saves(sqlite_db: Database) -> None:
    cli = Cli(sqlite_db.settings.database_url)
    fid = _reviewed(sqlite_db, cli)
    out = cli("review-edit", fid, "--root-cause", "Ben was careless with the refund job").stdout
    assert "corrected the review" in out and "coach, root cause:" in out
    with sqlite_db.unit() as session:
        review = session.query(Review).filter_by(failure_id=int(fid)).one()
        assert review.root_cause == "Ben was careless with the refund job"


def test_review_edit_refusals_name_the_field(sqlite_db: Database) -> None:
    cli = Cli(sqlite_db.settings.database_url)
    fid = _failure(cli)
    assert cli.fails("review-edit", fid, "--root-cause", "x").startswith("error: review: ")
    with sqlite_db.unit(actor="test") as session:
        logged = session.get(Failure, int(fid))
        assert logged is not None
        reviewed(session, logged)
    assert cli.fails("review-edit", fid).startswith("error: changes: nothing to change")
    assert cli.fails("review-edit", fid, "--root-cause", "  ").startswith("error: root_cause: ")
    assert cli.fails("review-edit", fid, "--gap-type", "luck").startswith("error: gap_type: ")
    future = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    assert cli.fails("review-edit", fid, "--held", future).startswith("error: held_at: ")
