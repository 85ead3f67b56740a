"""a fencing token for each delivery lease

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 07:40:00.000000

``notification_deliveries.lease_token``: a random value written by every claim. A worker sends
and records an outcome only while the row still carries the owner *and* token it was given, so a
worker whose lease was taken over (it stalled, its lease ran out) can neither send nor record
(issue #17). NULL while nobody holds the delivery; a lease left by an older version has none,
which no running worker holds, so it simply runs out as before. Dropping the column on downgrade
loses nothing but the token of a lease in flight: the older code never reads it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("notification_deliveries", sa.Column("lease_token", sa.String(length=32), nullable=True))


def downgrade() -> None:
    op.drop_column("notification_deliveries", "lease_token")
