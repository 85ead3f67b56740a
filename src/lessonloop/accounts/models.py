"""Sign-in: one account per person, API tokens and web sessions.

Secrets are never stored: passwords as argon2id hashes, API tokens and session ids as SHA-256
digests. None of these columns reach the history log (``__history_exclude__``) or the search
index (no ``__search_kind__``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lessonloop.people.models import Person
from lessonloop.store.base import Base, Record, UTCDateTime, utcnow


class Account(Record, Base):
    __tablename__ = "accounts"
    __record_type__ = "account"
    # The hash never goes to history; sign-in bookkeeping would only be noise there. A password
    # change still shows, as a new ``password_changed_at``.
    __history_exclude__ = Base.__history_exclude__ | {"password_hash", "last_login_at", "failed_logins"}

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    password_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    person: Mapped[Person] = relationship(lazy="joined")

    def history_label(self) -> str:
        return f"account of person {self.person_id}"


class ApiToken(Record, Base):
    """A bearer token for the API. Only the SHA-256 of the plaintext is kept."""

    __tablename__ = "api_tokens"
    __record_type__ = "api_token"
    __history_exclude__ = Base.__history_exclude__ | {"token_hash", "last_used_at"}

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the plaintext (``ll_Ab3x``) so a person can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(12))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    person: Mapped[Person] = relationship(lazy="joined")

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def history_label(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class WebSession(Record, Base):
    """A signed-in browser. The cookie holds the plaintext id; the table only its SHA-256."""

    __tablename__ = "web_sessions"
    __record_type__ = "web_session"
    __history_skip__ = True  # one row per sign-in: churn, and nothing anyone edits

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    person: Mapped[Person] = relationship(lazy="joined")
