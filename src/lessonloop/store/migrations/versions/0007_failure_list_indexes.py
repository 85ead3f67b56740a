"""failure list indexes: page order and visibility count

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 03:00:00.000000

* ``ix_failures_detected_at_id (detected_at, id)`` replaces ``ix_failures_detected_at``: the
  list's ``ORDER BY detected_at DESC, id DESC`` is then read off the index, also when many
  failures share one ``detected_at`` (an import gives every undated record the import time).
* ``ix_failures_visibility_cover (team_id, reporter_id, visibility, id)`` holds every column of
  the viewer's visibility rule, so the per-page ``count(*)`` of visible failures scans this
  narrow index (index-only on PostgreSQL) instead of the wide table. ``visibility`` is not its
  first column on purpose: SQLite (without statistics) would otherwise answer the *page* query
  with a multi-index OR over ``visibility = ?`` and sort every visible row, instead of reading
  ``ix_failures_detected_at_id`` in order. See docs/performance.md.
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_failures_detected_at_id", "failures", ["detected_at", "id"], unique=False)
    op.drop_index("ix_failures_detected_at", table_name="failures")
    op.create_index(
        "ix_failures_visibility_cover",
        "failures",
        ["team_id", "reporter_id", "visibility", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_failures_visibility_cover", table_name="failures")
    op.create_index("ix_failures_detected_at", "failures", ["detected_at"], unique=False)
    op.drop_index("ix_failures_detected_at_id", table_name="failures")
