"""Slack app: linked Slack identities and per-team channels (issue #14)

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from lessonloop.store.base import UTCDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def _record_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "slack_identities",
        *_record_columns(),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("slack_user_id", sa.String(32), nullable=False),
        sa.Column("linked_by", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name="fk_slack_identities_person_id_people", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_slack_identities"),
        sa.UniqueConstraint("person_id", name="uq_slack_identities_person_id"),
        sa.UniqueConstraint("slack_user_id", name="uq_slack_identities_slack_user_id"),
        sqlite_autoincrement=True,  # ids are never reused (0010)
    )
    op.create_table(
        "slack_link_codes",
        *_record_columns(),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name="fk_slack_link_codes_person_id_people", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_slack_link_codes"),
        sa.UniqueConstraint("person_id", name="uq_slack_link_codes_person_id"),
        sa.UniqueConstraint("code_hash", name="uq_slack_link_codes_code_hash"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "slack_team_channels",
        *_record_columns(),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name="fk_slack_team_channels_team_id_teams", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_slack_team_channels"),
        sa.UniqueConstraint("team_id", name="uq_slack_team_channels_team_id"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "slack_channel_posts",
        *_record_columns(),
        sa.Column("dedupe_key", sa.String(255), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name="fk_slack_channel_posts_team_id_teams", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_slack_channel_posts"),
        sa.UniqueConstraint("dedupe_key", name="uq_slack_channel_posts_dedupe_key"),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("slack_channel_posts")
    op.drop_table("slack_team_channels")
    op.drop_table("slack_link_codes")
    op.drop_table("slack_identities")
