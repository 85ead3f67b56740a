"""discussion: comments, timeline entries, links and attachments

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 23:50:00.000000

Four new tables (decision 39). ``comments`` holds the comments on failures, reviews, actions and
lessons: exactly one of its four foreign keys is set (``ck_comments_one_target``), each
``ON DELETE CASCADE`` like the failure's other children. ``attachments.data`` keeps the file's
bytes in the database.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

ONE_TARGET = (
    " + ".join(
        f"(CASE WHEN {column} IS NULL THEN 0 ELSE 1 END)"
        for column in ("failure_id", "review_id", "action_id", "lesson_id")
    )
    + " = 1"
)


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
        "comments",
        sa.Column("target_kind", sa.String(length=16), nullable=False),
        sa.Column("failure_id", sa.Integer(), nullable=True),
        sa.Column("review_id", sa.Integer(), nullable=True),
        sa.Column("action_id", sa.Integer(), nullable=True),
        sa.Column("lesson_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("mentions", sa.JSON(), nullable=False),
        sa.Column("edited_at", sa.DateTime(), nullable=True),
        *_record_columns(),
        sa.CheckConstraint(ONE_TARGET, name=op.f("ck_comments_one_target")),
        _fk("comments", "failure_id", "failures", "CASCADE"),
        _fk("comments", "review_id", "reviews", "CASCADE"),
        _fk("comments", "action_id", "actions", "CASCADE"),
        _fk("comments", "lesson_id", "lessons", "CASCADE"),
        _fk("comments", "author_id", "people", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comments")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("comments", schema=None) as batch_op:
        for column in ("failure_id", "review_id", "action_id", "lesson_id"):
            batch_op.create_index(batch_op.f(f"ix_comments_{column}"), [column], unique=False)

    op.create_table(
        "timeline_entries",
        sa.Column("failure_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("edited_at", sa.DateTime(), nullable=True),
        *_record_columns(),
        _fk("timeline_entries", "failure_id", "failures", "CASCADE"),
        _fk("timeline_entries", "author_id", "people", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timeline_entries")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("timeline_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_timeline_entries_failure_id"), ["failure_id"], unique=False)

    op.create_table(
        "failure_links",
        sa.Column("failure_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        *_record_columns(),
        _fk("failure_links", "failure_id", "failures", "CASCADE"),
        _fk("failure_links", "author_id", "people", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_failure_links")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("failure_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_failure_links_failure_id"), ["failure_id"], unique=False)

    op.create_table(
        "attachments",
        sa.Column("failure_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        *_record_columns(),
        _fk("attachments", "failure_id", "failures", "CASCADE"),
        _fk("attachments", "author_id", "people", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attachments_failure_id"), ["failure_id"], unique=False)


def downgrade() -> None:
    for table in ("attachments", "failure_links", "timeline_entries"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_failure_id"))
        op.drop_table(table)
    with op.batch_alter_table("comments", schema=None) as batch_op:
        for column in ("lesson_id", "action_id", "review_id", "failure_id"):
            batch_op.drop_index(batch_op.f(f"ix_comments_{column}"))
    op.drop_table("comments")
