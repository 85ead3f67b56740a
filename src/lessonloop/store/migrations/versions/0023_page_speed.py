"""indexes and precomputed columns for page speed and exact search (issue #13)

Revision ID: 0023
Revises: 0022

PLACEHOLDER: filled in by the work that needs it; a no-op until then.
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
