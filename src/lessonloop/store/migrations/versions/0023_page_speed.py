"""indexes and precomputed columns for page speed and exact search (issue #13)

Revision ID: 0023
Revises: 0022

Page speed (decision 43): the action board lists open actions earliest due first and shows the
latest done ones, a page at a time; without these indexes each page sorted every open (or done)
action of the workspace.

* ``ix_actions_status_due (status, due_date, id)``: open (or done) actions in board order, read
  straight off the index until the page is full.
* ``ix_actions_status_closed (status, closed_at)``: the latest done actions ("recently done").
* ``ix_failures_detected_cover (detected_at, repeat_of_id, visibility, team_id, reporter_id,
  status, id)``: a range of detection dates (the charts' 12 months, the insights page's window)
  counted and joined to actions off the index alone (the rows are wide).
* ``ix_failures_status_detected (status, detected_at, id, visibility, team_id, reporter_id)``:
  the failures of one status newest first (the dashboard's "awaiting review", the filtered
  list), with the visibility rule's columns so the page and its count never read the table.

Plain ``CREATE INDEX`` on both backends (inside the migration's transaction).
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_actions_status_due", "actions", ["status", "due_date", "id"], unique=False)
    op.create_index("ix_actions_status_closed", "actions", ["status", "closed_at"], unique=False)
    op.create_index(
        "ix_failures_detected_cover",
        "failures",
        ["detected_at", "repeat_of_id", "visibility", "team_id", "reporter_id", "status", "id"],
        unique=False,
    )
    op.create_index(
        "ix_failures_status_detected",
        "failures",
        ["status", "detected_at", "id", "visibility", "team_id", "reporter_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_failures_status_detected", table_name="failures")
    op.drop_index("ix_failures_detected_cover", table_name="failures")
    op.drop_index("ix_actions_status_closed", table_name="actions")
    op.drop_index("ix_actions_status_due", table_name="actions")
