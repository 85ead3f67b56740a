"""similar failures and dashboard at scale (issue #13)

Revision ID: 0026
Revises: 0025

PLACEHOLDER: filled in by the work that needs it; a no-op until then.
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
