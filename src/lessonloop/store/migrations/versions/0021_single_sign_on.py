"""single sign-on: OpenID identities and per-workspace password sign-in (issue #14)

Revision ID: 0021
Revises: 0020

PLACEHOLDER: filled in by the work that needs it; a no-op until then.
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
