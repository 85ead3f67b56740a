"""send-time notification text (obsolete state) and reflection session notes

Revision ID: 0018
Revises: 0017

* ``notifications.record_id``: the record a notification is about, so its text is rendered from
  that record's state when it is sent or shown (``lessonloop.notifications.sendtime``). Rows the
  worker wrote before are given theirs from their dedupe key (it names the event).
* ``notifications.obsolete_at`` / ``obsolete_reason``: the prompt was no longer needed when its
  turn came (the action was completed first): a recorded terminal state, nothing is deleted.
* ``reflection_sessions.notes`` and ``held_at``: what was said, and when it was held.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# The keys the worker's jobs wrote (lessonloop.worker.jobs) → the record id in them.
_KEYS = {
    "reminder": re.compile(r"^reminder:action:(\d+):"),
    "review-check": re.compile(r"^review-check:action:(\d+):"),
    "experiment-end": re.compile(r"^experiment-end:experiment:(\d+):"),
}
_REFLECTION = re.compile(r"^reflection:failure:(\d+)$")


def upgrade() -> None:
    op.add_column("notifications", sa.Column("record_id", sa.Integer(), nullable=True))
    op.add_column("notifications", sa.Column("obsolete_at", sa.DateTime(), nullable=True))
    op.add_column("notifications", sa.Column("obsolete_reason", sa.Text(), nullable=False, server_default=""))
    op.add_column("reflection_sessions", sa.Column("notes", sa.Text(), nullable=False, server_default=""))
    op.add_column("reflection_sessions", sa.Column("held_at", sa.DateTime(), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT id, kind, dedupe_key FROM notifications "
            "WHERE kind IN ('reminder', 'review-check', 'experiment-end', 'reflection')"
        )
    ).all()
    for nid, kind, key in rows:
        record_id = None
        if kind in _KEYS:
            found = _KEYS[kind].match(key)
            record_id = int(found.group(1)) if found else None
        else:
            found = _REFLECTION.match(key)
            if found:
                record_id = bind.execute(
                    sa.text("SELECT id FROM reflection_sessions WHERE failure_id = :f"),
                    {"f": int(found.group(1))},
                ).scalar()
        if record_id is not None:
            bind.execute(
                sa.text("UPDATE notifications SET record_id = :r WHERE id = :i"), {"r": record_id, "i": nid}
            )


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35), as 0013. Obsolete deliveries become dead (listed).
    op.execute("UPDATE notification_deliveries SET status = 'dead' WHERE status = 'obsolete'")
    op.drop_column("reflection_sessions", "held_at")
    op.drop_column("reflection_sessions", "notes")
    op.drop_column("notifications", "obsolete_reason")
    op.drop_column("notifications", "obsolete_at")
    op.drop_column("notifications", "record_id")
