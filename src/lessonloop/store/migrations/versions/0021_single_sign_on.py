"""single sign-on: OpenID identities and per-workspace password sign-in (issue #14)

Revision ID: 0021
Revises: 0020

* ``sso_identities``: the ``(issuer, subject) → person`` link made at a person's first OpenID
  sign-in, so a later e-mail change at the provider still maps to the same person.
* ``sign_in_settings``: the workspace's one row; ``password_sign_in`` false turns passwords off
  (no row: they are on).
* ``sso_sign_in_attempts``: state, nonce and PKCE verifier of a sign-in under way, found by the
  SHA-256 of a browser cookie and used once.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from lessonloop.store.base import UTCDateTime

revision = "0021"
down_revision = "0020"
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
        "sso_identities",
        *_record_columns(),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(500), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("last_sign_in_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name="fk_sso_identities_person_id_people", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_sso_identities"),
        sa.UniqueConstraint("issuer", "subject", name="uq_sso_identities_issuer_subject"),
        sa.UniqueConstraint("person_id", "issuer", name="uq_sso_identities_person_issuer"),
        sqlite_autoincrement=True,  # ids are never reused (0010)
    )
    op.create_index("ix_sso_identities_person_id", "sso_identities", ["person_id"])
    op.create_table(
        "sign_in_settings",
        *_record_columns(),
        sa.Column("password_sign_in", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sign_in_settings"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "sso_sign_in_attempts",
        *_record_columns(),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("state", sa.String(128), nullable=False),
        sa.Column("nonce", sa.String(128), nullable=False),
        sa.Column("code_verifier", sa.String(128), nullable=False),
        sa.Column("redirect_uri", sa.String(2000), nullable=False),
        sa.Column("next_path", sa.String(2000), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sso_sign_in_attempts"),
        sa.UniqueConstraint("token_hash", name="uq_sso_sign_in_attempts_token_hash"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_sso_sign_in_attempts_expires_at", "sso_sign_in_attempts", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_sso_sign_in_attempts_expires_at", table_name="sso_sign_in_attempts")
    op.drop_table("sso_sign_in_attempts")
    op.drop_table("sign_in_settings")
    op.drop_index("ix_sso_identities_person_id", table_name="sso_identities")
    op.drop_table("sso_identities")
