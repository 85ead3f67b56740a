"""uncached list path (issue #13): the list's order with the visibility rule's columns

Revision ID: 0025
Revises: 0024

``ix_failures_list_cover (detected_at, id, visibility, team_id, reporter_id)`` replaces
``ix_failures_detected_at_id (detected_at, id)`` (its prefix, so whatever used that one can use
this one). The failure list finds a page's ids off this index alone, in order and with the
visibility rule checked on the index entries, then reads the wide rows of those 50 failures
only (``failures/listing.py``, decision 53). Through the old index every row skipped on the way
to page 20 (~2,300 at 100k for a member) was read from the table to check its visibility:
1.4 ms instead of 0.4 ms on SQLite.

``ix_failures_reporter_cover (reporter_id, visibility, team_id)`` replaces
``ix_failures_reporter_id (reporter_id)`` (0024) for the same reason: the list's total counts a
person's own failures outside the groups they see whole (``failures/counts.py``), ~330 of them
for a member at 100k, and now reads the index alone instead of each failure's row.
"""

from __future__ import annotations

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_failures_list_cover",
        "failures",
        ["detected_at", "id", "visibility", "team_id", "reporter_id"],
        unique=False,
    )
    op.drop_index("ix_failures_detected_at_id", table_name="failures")
    op.create_index(
        "ix_failures_reporter_cover", "failures", ["reporter_id", "visibility", "team_id"], unique=False
    )
    op.drop_index("ix_failures_reporter_id", table_name="failures")


def downgrade() -> None:
    op.create_index("ix_failures_reporter_id", "failures", ["reporter_id"], unique=False)
    op.drop_index("ix_failures_reporter_cover", table_name="failures")
    op.create_index("ix_failures_detected_at_id", "failures", ["detected_at", "id"], unique=False)
    op.drop_index("ix_failures_list_cover", table_name="failures")
