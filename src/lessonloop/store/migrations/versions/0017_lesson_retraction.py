"""lesson retraction: when and why a published lesson was withdrawn

Revision ID: 0017
Revises: 0016

* ``lessons.retracted_at`` / ``retraction_reason``: a retracted lesson stays (with its history)
  but is no longer listed or sent as a learning (decision 38).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD / DROP COLUMN (SQLite >= 3.35), as 0013: a batch rebuild would rewrite the table's
    # CREATE TABLE text (and drop its AUTOINCREMENT), which 0010's downgrade reads.
    op.add_column("lessons", sa.Column("retracted_at", sa.DateTime(), nullable=True))
    op.add_column("lessons", sa.Column("retraction_reason", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    op.drop_column("lessons", "retraction_reason")
    op.drop_column("lessons", "retracted_at")
