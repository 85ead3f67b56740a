"""Migrations run both ways on both backends and match the models exactly."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from lessonloop.demo import build_demo
from lessonloop.errors import NotFound
from lessonloop.people.models import Membership, Team
from lessonloop.store import migrate
from lessonloop.store.engine import Database
from lessonloop.store.history import list_history
from lessonloop.store.registry import metadata


def test_models_and_migrations_agree(db: Database) -> None:
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"include_object": migrate.include_object, "compare_type": False}
        )
        assert compare_metadata(ctx, metadata) == []


def test_downgrade_and_upgrade_again(db: Database) -> None:
    migrate.downgrade(db.engine, "base")
    assert migrate.current_revision(db.engine) is None
    migrate.upgrade(db.engine)
    assert migrate.current_revision(db.engine) == migrate.head_revision(db.engine)


def _row_counts(engine: Engine) -> dict[str, int]:
    """Rows per table (Alembic's own table aside)."""
    with engine.connect() as conn:
        names = [n for n in inspect(conn).get_table_names() if n != "alembic_version"]
        return {n: conn.exec_driver_sql(f'SELECT COUNT(*) FROM "{n}"').scalar_one() for n in names}


def _kept(before: dict[str, int], after: dict[str, int]) -> dict[str, tuple[int, int]]:
    """Tables at both ends whose row count changed (empty when nothing was lost)."""
    return {t: (n, after[t]) for t, n in before.items() if t in after and after[t] != n}


@pytest.mark.parametrize("older", ["0009", "0001"])
def test_a_filled_database_keeps_every_row_down_and_up_again(db: Database, older: str) -> None:
    """Issue #17 item 6: with foreign keys on, SQLite's table rebuilds cascaded deletes."""
    with db.unit(actor="demo") as session:
        build_demo(session)
    at_head = _row_counts(db.engine)
    assert at_head["failures"] == 12 and at_head["experiments"] == 4
    migrate.downgrade(db.engine, older)
    at_older = _row_counts(db.engine)
    assert _kept(at_head, at_older) == {}
    migrate.upgrade(db.engine)
    assert _kept(at_older, _row_counts(db.engine)) == {}
    migrate.downgrade(db.engine, older)
    assert _kept(at_older, _row_counts(db.engine)) == {}
    migrate.upgrade(db.engine)
    again = _row_counts(db.engine)
    assert _kept(at_older, again) == {} and set(again) == set(at_head)


def test_after_the_upgrade_a_deleted_id_is_never_given_again(db: Database) -> None:
    """Issue #11 leak 4: SQLite without AUTOINCREMENT reused the id of the newest deleted row."""
    migrate.downgrade(db.engine, "0009")
    with db.engine.begin() as conn:  # rows written by the old schema, the newest then deleted
        conn.execute(sa.insert(Team.__table__), [{"name": n} for n in ("A", "B", "C")])
        conn.execute(sa.delete(Team.__table__).where(Team.__table__.c.name == "C"))
    migrate.upgrade(db.engine)
    with db.unit() as session:
        newest = session.scalar(sa.select(sa.func.max(Team.id)))
        session.delete(session.get(Team, newest))
    with db.unit() as session:
        team = Team(name="D")
        session.add(team)
        session.flush()
        assert team.id > newest  # SQLite gave newest again before 0010


def test_a_migration_that_breaks_a_foreign_key_is_rolled_back(sqlite_db: Database) -> None:
    """Foreign keys are off while migrating on SQLite; the check at the end catches a dangling one."""
    broken = pytest.raises(migrate.ForeignKeyViolation, match="memberships")
    with broken, migrate.migration_connection(sqlite_db.engine) as conn:
        team_id = conn.execute(sa.insert(Team.__table__), {"name": "A"}).inserted_primary_key[0]
        conn.execute(sa.insert(Membership.__table__), {"team_id": team_id, "person_id": 999})
    assert _row_counts(sqlite_db.engine)["teams"] == 0  # everything rolled back
    with sqlite_db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # on again for the pool


def test_a_new_record_after_deleting_the_newest_has_a_new_id_and_no_history(db: Database) -> None:
    with db.unit(actor="tester") as session:
        first, newest = Team(name="A"), Team(name="B")
        session.add_all([first, newest])
        session.flush()
        newest.name = "B2"
    with db.unit(actor="tester") as session:
        session.delete(session.get(Team, newest.id))
    with db.unit(actor="tester") as session:
        with pytest.raises(NotFound):  # the deleted record's history is not readable by its id
            list_history(session, "team", newest.id)
        fresh = Team(name="C")
        session.add(fresh)
        session.flush()
        assert fresh.id > newest.id
        assert [(h.action, h.record_id) for h in list_history(session, "team", fresh.id)] == [
            ("create", fresh.id)
        ]


def test_history_before_the_last_delete_of_an_id_belongs_to_another_record(db: Database) -> None:
    """An id given again (by SQLite before 0010, or an import that keeps ids) starts afresh."""
    with db.unit(actor="tester") as session:
        team = Team(name="Old")
        session.add(team)
        session.flush()
        old_id = team.id
    with db.unit(actor="tester") as session:
        session.delete(session.get(Team, old_id))
    with db.unit(actor="tester") as session:
        session.add(Team(id=old_id, name="New"))
    with db.unit() as session:
        entries = list_history(session, "team", old_id)
        assert [(h.action, h.changes.get("name")) for h in entries] == [("create", [None, "New"])]
