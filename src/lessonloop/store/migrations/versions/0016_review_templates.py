"""review templates per failure kind, and the extra answers of a review

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from lessonloop.store.base import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_review_templates"),
        sa.UniqueConstraint("kind", name="uq_review_templates_kind"),
        sqlite_autoincrement=True,  # ids are never reused (0010)
    )
    # Plain ADD/DROP COLUMN (SQLite >= 3.35), as 0013: a batch rebuild would rewrite the table's
    # CREATE TABLE text, which 0010's downgrade reads.
    op.add_column("reviews", sa.Column("extra_answers", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    op.drop_column("reviews", "extra_answers")
    op.drop_table("review_templates")
