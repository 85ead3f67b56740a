"""issue-tracker sync for actions: connections and links (issue #14)

Revision ID: 0020
Revises: 0019

PLACEHOLDER: filled in by the work that needs it; a no-op until then.
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
