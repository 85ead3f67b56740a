"""who made a calendar feed token

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 10:00:00.000000

``calendar_tokens.created_by_id``: the person who made the feed (NULL for one made by a system
job such as the local CLI, and for tokens made before this revision). A team's feed is a standing
copy of its calendar, so who handed it out is worth knowing (issue #11, leak 3). Like
``checklist_revisions.failure_ref`` it is a plain number without a foreign key: the fact stays
when the person is deleted, and ids are never reused (0010).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("calendar_tokens", sa.Column("created_by_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("calendar_tokens", "created_by_id")
