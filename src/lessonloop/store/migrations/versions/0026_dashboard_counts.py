"""the kept failure counts per status too: the dashboard's counts (issue #13)

Revision ID: 0026
Revises: 0025

``failure_counts`` (migration 0024) gains ``status`` in its key: ``(visibility, team_key,
status, n)``, so a total of the failures in one status (the dashboard's "awaiting review": ~90,000
observed failures at 100k) is a sum of kept rows like the list's total, not a count of every
visible failure in that status (decision 56). The unfiltered total sums the rows of every status.
The triggers now also fire when a failure's status changes. Rebuilt here, as a new table filled
from ``failures``, with the same kinds of triggers as 0024 (row triggers on SQLite; statement
triggers with transition tables on PostgreSQL, so an import's ``COPY`` is one grouped statement).

Two covering indexes make "actions overdue today" (the dashboard's count, which depends on
today and so cannot be kept) a range scan of the open actions due before today joined to their
failures' visibility columns, both read off indexes alone (~45 → ~20 ms at 100k on PostgreSQL,
where it hash-joined every visible failure): ``ix_actions_status_due_cover (status, due_date, id,
failure_id)`` replaces ``ix_actions_status_due (status, due_date, id)`` (0023; its prefix, so the
board reads it as before), and ``ix_failures_id_cover (id, visibility, team_id, reporter_id)``.

A later SQLite migration that rebuilds ``failures`` (``batch_alter_table``) drops its triggers:
it must create them again (``create_count_triggers`` here).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

_KEY = "visibility, team_key, status"

_SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER failure_counts_insert AFTER INSERT ON failures BEGIN
        INSERT INTO failure_counts ({_KEY}, n) VALUES (NEW.visibility, coalesce(NEW.team_id, 0), NEW.status, 1)
        ON CONFLICT ({_KEY}) DO UPDATE SET n = n + 1;
    END""",
    """CREATE TRIGGER failure_counts_delete AFTER DELETE ON failures BEGIN
        UPDATE failure_counts SET n = n - 1
        WHERE visibility = OLD.visibility AND team_key = coalesce(OLD.team_id, 0) AND status = OLD.status;
    END""",
    f"""CREATE TRIGGER failure_counts_update AFTER UPDATE OF visibility, team_id, status ON failures
    WHEN OLD.visibility IS NOT NEW.visibility OR OLD.team_id IS NOT NEW.team_id
        OR OLD.status IS NOT NEW.status BEGIN
        UPDATE failure_counts SET n = n - 1
        WHERE visibility = OLD.visibility AND team_key = coalesce(OLD.team_id, 0) AND status = OLD.status;
        INSERT INTO failure_counts ({_KEY}, n) VALUES (NEW.visibility, coalesce(NEW.team_id, 0), NEW.status, 1)
        ON CONFLICT ({_KEY}) DO UPDATE SET n = n + 1;
    END""",
]

_PG_ADD = (
    f"INSERT INTO failure_counts ({_KEY}, n) {{rows}} "
    f"ON CONFLICT ({_KEY}) DO UPDATE SET n = failure_counts.n + excluded.n"
)
_PG_SUB = (
    "UPDATE failure_counts AS c SET n = c.n - g.k FROM ({rows}) AS g (visibility, team_key, status, k) "
    "WHERE c.visibility = g.visibility AND c.team_key = g.team_key AND c.status = g.status"
)
_GROUPED = "SELECT {t}.visibility, coalesce({t}.team_id, 0), {t}.status, count(*) FROM {src} GROUP BY 1, 2, 3"
_MOVED = (
    "{t} JOIN {other} ON {other}.id = {t}.id WHERE ({t}.visibility, coalesce({t}.team_id, 0), {t}.status) "
    "IS DISTINCT FROM ({other}.visibility, coalesce({other}.team_id, 0), {other}.status)"
)

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
    """The triggers that keep ``failure_counts`` (with ``status``) in step with ``failures``."""
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


def _revision_0024() -> ModuleType:
    """0024's trigger helpers (alembic loads revisions by file, not as a package's modules)."""
    spec = importlib.util.spec_from_file_location(
        "_lessonloop_0024", Path(__file__).with_name("0024_exact_search.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _counts_table(keys: list[str]) -> None:
    columns: list[sa.Column[Any]] = [
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("team_key", sa.Integer(), autoincrement=False, nullable=False),
    ]
    if "status" in keys:
        columns.append(sa.Column("status", sa.String(length=16), nullable=False))
    op.create_table(
        "failure_counts",
        *columns,
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(*keys, name=op.f("pk_failure_counts")),
    )
    selected = ", ".join("coalesce(team_id, 0)" if k == "team_key" else k for k in keys)
    groups = ", ".join(str(i + 1) for i in range(len(keys)))
    op.execute(
        f"INSERT INTO failure_counts ({', '.join(keys)}, n) "
        f"SELECT {selected}, count(*) FROM failures GROUP BY {groups}"
    )


def upgrade() -> None:
    _revision_0024().drop_count_triggers()
    op.drop_table("failure_counts")
    _counts_table(["visibility", "team_key", "status"])
    create_count_triggers()
    op.create_index(
        "ix_actions_status_due_cover", "actions", ["status", "due_date", "id", "failure_id"], unique=False
    )
    op.drop_index("ix_actions_status_due", table_name="actions")
    op.create_index(
        "ix_failures_id_cover", "failures", ["id", "visibility", "team_id", "reporter_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_failures_id_cover", table_name="failures")
    op.create_index("ix_actions_status_due", "actions", ["status", "due_date", "id"], unique=False)
    op.drop_index("ix_actions_status_due_cover", table_name="actions")
    old = _revision_0024()
    old.drop_count_triggers()  # the same trigger and function names
    op.drop_table("failure_counts")
    _counts_table(["visibility", "team_key"])
    old.create_count_triggers()
