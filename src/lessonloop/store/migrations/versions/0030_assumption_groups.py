"""each named assumption carries its review's visibility group (issue #13, decision 73)

Revision ID: 0030
Revises: 0029

The insights page's most-named failed assumptions counted, for a person, every review naming a
candidate assumption joined to its failure to check the person may see it: at 1M failures
46,000 lookups through ``reviews`` and ``failures``, 170 ms of the page. ``review_assumptions``
now carries the group of the review's failure — ``visibility`` and ``team_key``
(``coalesce(team_id, 0)``), the key of ``failure_counts`` (migration 0024) — and an index
``(assumption_id, visibility, team_key)``, so the count over the groups a person sees whole is
read off that index alone (5 ms for the same candidates); their own failures outside those
groups are still checked one by one (``signals.metrics``).

The columns are the database's, never the application's: triggers write them when a row is
inserted (from its review's failure), and again for every row of a failure's review when the
failure's visibility or team changes (a statement trigger with transition tables on
PostgreSQL, so a bulk change is one join; a row trigger on SQLite) and when a review moves to
another failure. A deleted row needs nothing. The new index's prefix replaces
``ix_review_assumptions_assumption_id``.

A later SQLite migration that rebuilds ``failures``, ``reviews`` or ``review_assumptions``
(``batch_alter_table``) drops these triggers: it must create them again
(``create_group_triggers`` here).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

# The group of review ``{review}``'s failure: one row, or none when the review has gone.
_GROUP_OF_REVIEW = (
    "SELECT f.visibility, coalesce(f.team_id, 0) FROM reviews r JOIN failures f ON f.id = r.failure_id "
    "WHERE r.id = {review}"
)

_SQLITE_TRIGGERS = [
    # SQLite's BEFORE triggers cannot change NEW: the inserted row is completed right after.
    f"""CREATE TRIGGER review_assumptions_group_insert AFTER INSERT ON review_assumptions BEGIN
        UPDATE review_assumptions SET (visibility, team_key) = ({_GROUP_OF_REVIEW.format(review="NEW.review_id")})
        WHERE review_id = NEW.review_id AND assumption_id = NEW.assumption_id;
    END""",
    f"""CREATE TRIGGER review_assumptions_group_review AFTER UPDATE OF failure_id ON reviews
    WHEN OLD.failure_id IS NOT NEW.failure_id BEGIN
        UPDATE review_assumptions SET (visibility, team_key) = ({_GROUP_OF_REVIEW.format(review="NEW.id")})
        WHERE review_id = NEW.id;
    END""",
    """CREATE TRIGGER review_assumptions_group_failure AFTER UPDATE OF visibility, team_id ON failures
    WHEN OLD.visibility IS NOT NEW.visibility OR OLD.team_id IS NOT NEW.team_id BEGIN
        UPDATE review_assumptions SET visibility = NEW.visibility, team_key = coalesce(NEW.team_id, 0)
        WHERE review_id IN (SELECT id FROM reviews WHERE failure_id = NEW.id);
    END""",
]

_PG_FUNCTIONS = {
    # BEFORE INSERT: the row is stored complete (a COPY too).
    "review_assumptions_group_insert": (
        "SELECT f.visibility, coalesce(f.team_id, 0) INTO NEW.visibility, NEW.team_key "
        "FROM reviews r JOIN failures f ON f.id = r.failure_id WHERE r.id = NEW.review_id; RETURN NEW"
    ),
    "review_assumptions_group_review": (
        "UPDATE review_assumptions SET visibility = f.visibility, team_key = coalesce(f.team_id, 0) "
        "FROM failures f WHERE f.id = NEW.failure_id AND review_assumptions.review_id = NEW.id; RETURN NULL"
    ),
    # One statement per UPDATE of failures, whatever it changed: only the failures whose group
    # moved touch review_assumptions (transition tables cannot go with a column list).
    "review_assumptions_group_failure": (
        "UPDATE review_assumptions AS ra SET visibility = n.visibility, team_key = coalesce(n.team_id, 0) "
        "FROM new_rows n JOIN old_rows o ON o.id = n.id JOIN reviews r ON r.failure_id = n.id "
        "WHERE ra.review_id = r.id AND (n.visibility, coalesce(n.team_id, 0)) "
        "IS DISTINCT FROM (o.visibility, coalesce(o.team_id, 0)); RETURN NULL"
    ),
}
_PG_TRIGGERS = {
    "review_assumptions_group_insert": "BEFORE INSERT ON review_assumptions FOR EACH ROW",
    "review_assumptions_group_review": (
        "AFTER UPDATE OF failure_id ON reviews FOR EACH ROW WHEN (OLD.failure_id IS DISTINCT FROM NEW.failure_id)"
    ),
    "review_assumptions_group_failure": (
        "AFTER UPDATE ON failures REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT"
    ),
}
_TABLES = {
    "review_assumptions_group_insert": "review_assumptions",
    "review_assumptions_group_review": "reviews",
    "review_assumptions_group_failure": "failures",
}


def create_group_triggers() -> None:
    """The triggers that keep ``review_assumptions``' group columns in step."""
    if op.get_bind().dialect.name == "sqlite":
        for sql in _SQLITE_TRIGGERS:
            op.execute(sql)
        return
    for name, body in _PG_FUNCTIONS.items():
        op.execute(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body}; END $$")
        op.execute(f"CREATE TRIGGER {name} {_PG_TRIGGERS[name]} EXECUTE FUNCTION {name}()")


def drop_group_triggers() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for name, table in _TABLES.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + ("" if sqlite else f" ON {table}"))
        if not sqlite:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")


def upgrade() -> None:
    op.add_column("review_assumptions", sa.Column("visibility", sa.String(length=16), nullable=True))
    op.add_column("review_assumptions", sa.Column("team_key", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE review_assumptions SET (visibility, team_key) = "
        f"({_GROUP_OF_REVIEW.format(review='review_assumptions.review_id')})"
    )
    op.create_index(
        "ix_review_assumptions_group", "review_assumptions", ["assumption_id", "visibility", "team_key"]
    )
    op.drop_index("ix_review_assumptions_assumption_id", table_name="review_assumptions")
    create_group_triggers()


def downgrade() -> None:
    drop_group_triggers()
    op.create_index("ix_review_assumptions_assumption_id", "review_assumptions", ["assumption_id"])
    op.drop_index("ix_review_assumptions_group", table_name="review_assumptions")
    with op.batch_alter_table("review_assumptions") as batch:
        batch.drop_column("team_key")
        batch.drop_column("visibility")
