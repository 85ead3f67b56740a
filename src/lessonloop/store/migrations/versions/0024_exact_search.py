"""exact search; the failure list's total from kept counts (issue #13)

Revision ID: 0024
Revises: 0023

Exact search (decision 44) needs no schema: it ranks every match with the indexes of migration
0001/0009. What this revision adds is for the list API's exact ``total`` (decision 44, part 2):

* ``failure_counts (visibility, team_key, n)``: the number of failures per visibility and team
  (``team_key`` 0: no team), filled from ``failures`` here and kept in step by triggers on
  ``failures`` — row triggers on SQLite, statement triggers with transition tables on PostgreSQL
  (one grouped statement per ``COPY`` of an import, and an update touches the counts only when
  it moves a failure to another visibility or team). Triggers rather than application code, so
  raw SQL writes, imports, cascades (a team deleted sets ``team_id`` NULL) and restores keep it.
* ``ix_failures_reporter_id``: a person's own failures (the part of the total not in whole groups).

A later SQLite migration that rebuilds ``failures`` (``batch_alter_table``) drops its triggers:
it must create them again (``create_count_triggers``); ``tests/failures/test_counts.py`` checks
the counts against the table at head.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

_SQLITE_TRIGGERS = [
    """CREATE TRIGGER failure_counts_insert AFTER INSERT ON failures BEGIN
        INSERT INTO failure_counts (visibility, team_key, n) VALUES (NEW.visibility, coalesce(NEW.team_id, 0), 1)
        ON CONFLICT (visibility, team_key) DO UPDATE SET n = n + 1;
    END""",
    """CREATE TRIGGER failure_counts_delete AFTER DELETE ON failures BEGIN
        UPDATE failure_counts SET n = n - 1
        WHERE visibility = OLD.visibility AND team_key = coalesce(OLD.team_id, 0);
    END""",
    """CREATE TRIGGER failure_counts_update AFTER UPDATE OF visibility, team_id ON failures
    WHEN OLD.visibility IS NOT NEW.visibility OR OLD.team_id IS NOT NEW.team_id BEGIN
        UPDATE failure_counts SET n = n - 1
        WHERE visibility = OLD.visibility AND team_key = coalesce(OLD.team_id, 0);
        INSERT INTO failure_counts (visibility, team_key, n) VALUES (NEW.visibility, coalesce(NEW.team_id, 0), 1)
        ON CONFLICT (visibility, team_key) DO UPDATE SET n = n + 1;
    END""",
]

_PG_ADD = (
    "INSERT INTO failure_counts (visibility, team_key, n) {rows} "
    "ON CONFLICT (visibility, team_key) DO UPDATE SET n = failure_counts.n + excluded.n"
)
_PG_SUB = (
    "UPDATE failure_counts AS c SET n = c.n - g.k FROM ({rows}) AS g (visibility, team_key, k) "
    "WHERE c.visibility = g.visibility AND c.team_key = g.team_key"
)
_GROUPED = "SELECT {t}.visibility, coalesce({t}.team_id, 0), count(*) FROM {src} GROUP BY 1, 2"
_MOVED = "{t} JOIN {other} ON {other}.id = {t}.id WHERE ({t}.visibility, coalesce({t}.team_id, 0)) IS DISTINCT FROM ({other}.visibility, coalesce({other}.team_id, 0))"

_PG_FUNCTIONS = {
    "insert": _PG_ADD.format(rows=_GROUPED.format(t="new_rows", src="new_rows")),
    "delete": _PG_SUB.format(rows=_GROUPED.format(t="old_rows", src="old_rows")),
    "update": _PG_SUB.format(
        rows=_GROUPED.format(t="old_rows", src=_MOVED.format(t="old_rows", other="new_rows"))
    )
    + "; "
    + _PG_ADD.format(rows=_GROUPED.format(t="new_rows", src=_MOVED.format(t="new_rows", other="old_rows"))),
}
_PG_REFERENCING = {
    "insert": "NEW TABLE AS new_rows",
    "delete": "OLD TABLE AS old_rows",
    "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
}


def create_count_triggers() -> None:
    """The triggers that keep ``failure_counts`` in step with ``failures``."""
    if op.get_bind().dialect.name == "sqlite":
        for sql in _SQLITE_TRIGGERS:
            op.execute(sql)
        return
    for event, body in _PG_FUNCTIONS.items():
        op.execute(
            f"CREATE FUNCTION failure_counts_{event}() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {body}; RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER failure_counts_{event} AFTER {event.upper()} ON failures "
            f"REFERENCING {_PG_REFERENCING[event]} FOR EACH STATEMENT "
            f"EXECUTE FUNCTION failure_counts_{event}()"
        )


def drop_count_triggers() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for event in _PG_FUNCTIONS:
        op.execute(f"DROP TRIGGER IF EXISTS failure_counts_{event}" + ("" if sqlite else " ON failures"))
        if not sqlite:
            op.execute(f"DROP FUNCTION IF EXISTS failure_counts_{event}()")


def upgrade() -> None:
    op.create_table(
        "failure_counts",
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("team_key", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("visibility", "team_key", name=op.f("pk_failure_counts")),
    )
    op.execute(
        "INSERT INTO failure_counts (visibility, team_key, n) "
        "SELECT visibility, coalesce(team_id, 0), count(*) FROM failures GROUP BY 1, 2"
    )
    create_count_triggers()
    op.create_index("ix_failures_reporter_id", "failures", ["reporter_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_failures_reporter_id", table_name="failures")
    drop_count_triggers()
    op.drop_table("failure_counts")
