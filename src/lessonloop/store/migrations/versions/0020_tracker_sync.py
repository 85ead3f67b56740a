"""issue-tracker sync for actions: connections and links (issue #14)

Revision ID: 0020
Revises: 0019

Two new tables (decision 46). ``tracker_connections`` holds one team's GitHub or Jira connection
(``UNIQUE(team_id)``). ``action_tracker_links`` is both the worker's durable push queue and the
link of an action to its issue: ``UNIQUE(action_id)`` is what makes "one issue per action" a fact
of the schema, not of the code path.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def _record_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    ]


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "tracker_connections",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("server_url", sa.String(length=500), nullable=False),
        sa.Column("user", sa.String(length=200), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("webhook_secret", sa.Text(), nullable=False),
        sa.Column("issue_type", sa.String(length=60), nullable=False),
        sa.Column("workspace_tag", sa.String(length=16), nullable=False),
        sa.Column("assignees", sa.JSON(), nullable=False),
        *_record_columns(),
        _fk("tracker_connections", "team_id", "teams", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracker_connections")),
        sa.UniqueConstraint("team_id", name=op.f("uq_tracker_connections_team_id")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "action_tracker_links",
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("issue_key", sa.String(length=64), nullable=False),
        sa.Column("issue_url", sa.String(length=1000), nullable=False),
        sa.Column("issue_state", sa.String(length=16), nullable=False),
        sa.Column("awaiting_evidence", sa.Boolean(), nullable=False),
        sa.Column("closed_round", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("lease_token", sa.String(length=40), nullable=False),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=True),
        *_record_columns(),
        _fk("action_tracker_links", "action_id", "actions", "CASCADE"),
        _fk("action_tracker_links", "connection_id", "tracker_connections", "SET NULL"),
        _fk("action_tracker_links", "requested_by_id", "people", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_tracker_links")),
        sa.UniqueConstraint("action_id", name=op.f("uq_action_tracker_links_action_id")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("action_tracker_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_action_tracker_links_connection_id"), ["connection_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_action_tracker_links_state"), ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("action_tracker_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_action_tracker_links_state"))
        batch_op.drop_index(batch_op.f("ix_action_tracker_links_connection_id"))
    op.drop_table("action_tracker_links")
    op.drop_table("tracker_connections")
