"""ids never reused on SQLite, sign-in failures in the database, one primary action per review

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 09:00:00.000000

* SQLite: every table whose primary key is one integer ``id`` is rebuilt as ``INTEGER PRIMARY
  KEY AUTOINCREMENT``. Without it SQLite hands the id of the newest deleted row to the next
  insert, and the history log of the deleted record showed up on the new one (issue #11, leak
  4). The rebuild edits the table's own ``CREATE TABLE`` text, so every other column,
  constraint and index stays exactly as it was; it runs with foreign keys off
  (:func:`lessonloop.store.migrate.migration_connection`). PostgreSQL sequences never go back:
  nothing to do there.
* ``sign_in_failures``: one row per refused sign-in, keyed per account and per client address,
  so several server processes share the throttle (issue #11, leak 7).
* ``uq_actions_one_primary``: a partial unique index, at most one primary action per review,
  so two concurrent requests cannot both add one. Extra primaries left by such a race before
  this revision become ordinary actions (the oldest stays primary); no row is removed.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

from lessonloop.store.base import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_SKIP_PREFIXES = ("sqlite_", "search_fts", "alembic_")  # internal, FTS5 shadow and Alembic tables
_PLAIN_ID = re.compile(r"^(\s*)id INTEGER NOT NULL,", re.MULTILINE)
_TABLE_PK = re.compile(r",\s*CONSTRAINT (\w+) PRIMARY KEY \(id\)")
_AUTO_ID = re.compile(r"^(\s*)id INTEGER NOT NULL CONSTRAINT (\w+) PRIMARY KEY AUTOINCREMENT,", re.MULTILINE)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for table in _id_tables(bind):
            _rebuild(bind, table, _with_autoincrement)
    _create_sign_in_failures()
    _demote_extra_primaries(bind)
    op.create_index(
        "uq_actions_one_primary",
        "actions",
        ["review_id"],
        unique=True,
        sqlite_where=sa.text("is_primary"),
        postgresql_where=sa.text("is_primary"),
    )


def downgrade() -> None:
    bind = op.get_bind()
    op.drop_index("uq_actions_one_primary", table_name="actions")
    op.drop_index("ix_sign_in_failures_at", table_name="sign_in_failures")
    op.drop_index("ix_sign_in_failures_scope_key_at", table_name="sign_in_failures")
    op.drop_table("sign_in_failures")
    if bind.dialect.name == "sqlite":
        for table in _id_tables(bind):
            _rebuild(bind, table, _without_autoincrement)


def _create_sign_in_failures() -> None:
    op.create_table(
        "sign_in_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_failures")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_sign_in_failures_scope_key_at", "sign_in_failures", ["scope", "key", "at"])
    op.create_index("ix_sign_in_failures_at", "sign_in_failures", ["at"])


def _demote_extra_primaries(bind: sa.Connection) -> None:
    """Keep the oldest primary action of a review primary; any later one becomes secondary."""
    bind.execute(
        sa.text(
            "UPDATE actions SET is_primary = :no WHERE is_primary = :yes AND id > "
            "(SELECT MIN(a.id) FROM actions a WHERE a.review_id = actions.review_id AND a.is_primary = :yes)"
        ),
        {"yes": True, "no": False},
    )


def _id_tables(bind: sa.Connection) -> list[str]:
    """Tables whose primary key is the single integer column ``id``."""
    names = bind.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
    ).scalars()
    out = []
    for name in names:
        if name.startswith(_SKIP_PREFIXES):
            continue
        columns = bind.exec_driver_sql(f'PRAGMA table_info("{name}")').fetchall()
        pk = [(c[1], str(c[2]).upper()) for c in columns if c[5]]
        if pk == [("id", "INTEGER")]:
            out.append(name)
    return out


def _with_autoincrement(sql: str, table: str) -> str:
    pk = _TABLE_PK.search(sql)
    if pk is None or len(_PLAIN_ID.findall(sql)) != 1:
        raise RuntimeError(f"0010: unexpected CREATE TABLE for {table}; not rebuilt:\n{sql}")
    sql = sql[: pk.start()] + sql[pk.end() :]
    return _PLAIN_ID.sub(rf"\1id INTEGER NOT NULL CONSTRAINT {pk.group(1)} PRIMARY KEY AUTOINCREMENT,", sql)


def _without_autoincrement(sql: str, table: str) -> str:
    match = _AUTO_ID.search(sql)
    if match is None:
        raise RuntimeError(f"0010: unexpected CREATE TABLE for {table}; not rebuilt:\n{sql}")
    sql = _AUTO_ID.sub(r"\1id INTEGER NOT NULL,", sql)
    body_end = sql.rindex(")")  # the table's closing parenthesis
    return f"{sql[:body_end].rstrip()}, \n\tCONSTRAINT {match.group(2)} PRIMARY KEY (id)\n{sql[body_end:]}"


def _rebuild(bind: sa.Connection, table: str, edit: Callable[[str, str], str]) -> None:
    """SQLite's documented 12-step table change: new table, copy, drop, rename, indexes back.

    Foreign keys are off (the migration environment), so dropping the old table cascades
    nothing; the references of other tables name ``table`` and find the new one after the rename.
    """
    sql = str(
        bind.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).scalar_one()
    )
    indexes = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", (table,)
    ).scalars()
    index_sql = list(indexes)
    new_sql = edit(sql, table)
    temp = f"_0010_{table}"
    head = re.compile(rf'^CREATE TABLE "?{re.escape(table)}"?')
    create = head.sub(f'CREATE TABLE "{temp}"', new_sql, count=1)
    if create == new_sql:
        raise RuntimeError(f"0010: cannot rename the CREATE TABLE of {table}")
    columns = ", ".join(f'"{c[1]}"' for c in bind.exec_driver_sql(f'PRAGMA table_info("{table}")').fetchall())
    bind.exec_driver_sql(create)
    bind.exec_driver_sql(f'INSERT INTO "{temp}" ({columns}) SELECT {columns} FROM "{table}"')
    bind.exec_driver_sql(f'DROP TABLE "{table}"')
    bind.exec_driver_sql(f'ALTER TABLE "{temp}" RENAME TO "{table}"')
    for statement in index_sql:
        bind.exec_driver_sql(statement)
