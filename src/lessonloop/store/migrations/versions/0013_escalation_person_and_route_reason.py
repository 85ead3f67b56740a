"""escalations: the person concerned, who chose the route and why

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 11:45:00.000000

Issue #15 ("Escalations are right"): a route follows from the pattern, and HR / employee
assistance only from a lead's or admin's choice with a reason. ``route_reason`` keeps that reason
(or the pattern's); ``person_id`` is the person a private escalation is about (a skill pattern of
one person, or the person named when HR / assistance was chosen); ``chosen_by_id`` who chose it.
Plain numbers without a foreign key, like ``calendar_tokens.created_by_id`` (0011): ids are never
reused (0010). Escalations of the retired ``team`` rule stay as they were.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("escalations", sa.Column("route_reason", sa.Text(), nullable=False, server_default=""))
    op.add_column("escalations", sa.Column("person_id", sa.Integer(), nullable=True))
    op.add_column("escalations", sa.Column("chosen_by_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35), as 0011: a batch rebuild would rewrite the table's
    # CREATE TABLE text, which 0010's downgrade reads.
    op.drop_column("escalations", "chosen_by_id")
    op.drop_column("escalations", "person_id")
    op.drop_column("escalations", "route_reason")
