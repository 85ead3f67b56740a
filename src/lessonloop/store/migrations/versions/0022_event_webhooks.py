"""chat notifications through apprise and outgoing event webhooks (issue #14)

Revision ID: 0022
Revises: 0021

* ``notification_preferences.webhook_kind``: what speaks at a person's webhook URL (``slack``,
  ``teams``, ``discord``, ``mattermost``, ``json``); existing rows are ``slack``, what they were.
* ``event_webhook_endpoints``: endpoints that receive signed events, org-wide or for one team.
* ``notifications.person_id`` becomes nullable: an event for an endpoint is an outbox entry with
  no person (no in-app entry), delivered by the same worker machinery.
* ``notification_deliveries.signature``: the timestamp and HMAC of an event delivery's attempt.

Downgrading deletes the person-less (event) notifications first: the older schema has no place
for them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from lessonloop.store.base import UTCDateTime

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


_NOT_NULL = "person_id INTEGER NOT NULL,"
_NULL = "person_id INTEGER,"


def _person_id_nullable(nullable: bool) -> None:
    """``notifications.person_id`` NULL or NOT NULL. SQLite: the documented table rebuild on the
    table's own CREATE statement with only that column changed, so its named primary key,
    AUTOINCREMENT (0010) and indexes stay exactly as they were (Alembic's batch copy drops them)."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.alter_column("notifications", "person_id", existing_type=sa.Integer(), nullable=nullable)
        return
    sql = str(
        bind.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'notifications'"
        ).scalar_one()
    )
    before, after = (_NOT_NULL, _NULL) if nullable else (_NULL, _NOT_NULL)
    if sql.count(before) != 1:
        raise RuntimeError(f"0022: unexpected CREATE TABLE for notifications; not rebuilt:\n{sql}")
    indexes = list(
        bind.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'notifications' AND sql IS NOT NULL"
        ).scalars()
    )
    create = sql.replace(before, after).replace(
        'CREATE TABLE "notifications"', 'CREATE TABLE "_0022_notifications"', 1
    )
    create = create.replace("CREATE TABLE notifications", 'CREATE TABLE "_0022_notifications"', 1)
    columns = ", ".join(
        f'"{c[1]}"' for c in bind.exec_driver_sql('PRAGMA table_info("notifications")').fetchall()
    )
    bind.exec_driver_sql(create)
    bind.exec_driver_sql(
        f'INSERT INTO "_0022_notifications" ({columns}) SELECT {columns} FROM "notifications"'
    )
    bind.exec_driver_sql('DROP TABLE "notifications"')  # foreign keys are off here (store.migrate)
    bind.exec_driver_sql('ALTER TABLE "_0022_notifications" RENAME TO "notifications"')
    for statement in indexes:
        bind.exec_driver_sql(statement)


def upgrade() -> None:
    op.add_column(
        "notification_preferences",
        sa.Column("webhook_kind", sa.String(16), nullable=False, server_default="slack"),
    )
    op.add_column("notification_deliveries", sa.Column("signature", sa.String(200), nullable=True))
    _person_id_nullable(True)
    op.create_table(
        "event_webhook_endpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("secret", sa.String(100), nullable=False),
        sa.Column("events", sa.String(200), nullable=False),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name="fk_event_webhook_endpoints_team_id_teams", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["people.id"],
            name="fk_event_webhook_endpoints_created_by_id_people",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_event_webhook_endpoints"),
        sqlite_autoincrement=True,  # ids are never reused (0010)
    )


def downgrade() -> None:
    op.drop_table("event_webhook_endpoints")
    op.execute("DELETE FROM notifications WHERE person_id IS NULL")
    _person_id_nullable(False)
    op.drop_column("notification_deliveries", "signature")
    op.drop_column("notification_preferences", "webhook_kind")
