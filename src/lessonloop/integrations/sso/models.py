"""Single sign-on's tables: who an OpenID identity is, the workspace's sign-in rule, and the
sign-ins under way.

* :class:`SsoIdentity` — the link ``(issuer, subject) → person`` made at a person's first OpenID
  sign-in (by their verified e-mail). Later sign-ins follow the link, so a person whose e-mail
  changes at the provider still arrives as themselves.
* :class:`SignInSettings` — one row for the workspace: whether passwords are accepted. No row
  means the default (they are); its history says who turned them off and when.
* :class:`SsoSignInAttempt` — what a sign-in sent to the provider and must check when the
  browser comes back (state, nonce, the PKCE verifier). Kept on the server, found by the SHA-256
  of a random cookie, used once; never exported and never in history.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lessonloop.people.models import Person
from lessonloop.store.base import Base, Record, UTCDateTime


class SsoIdentity(Record, Base):
    __tablename__ = "sso_identities"
    __record_type__ = "sso_identity"
    __history_exclude__ = Base.__history_exclude__ | {"last_sign_in_at", "email"}
    __table_args__ = (
        UniqueConstraint("issuer", "subject", name="uq_sso_identities_issuer_subject"),
        # One identity per person at each provider: a second one must be linked by an admin.
        UniqueConstraint("person_id", "issuer", name="uq_sso_identities_person_issuer"),
    )

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
    # The e-mail the provider last vouched for (for admins reading the link; never the key).
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    last_sign_in_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    person: Mapped[Person] = relationship(lazy="joined")

    def history_label(self) -> str:
        return f"OpenID identity {self.subject} at {self.issuer}"


class SignInSettings(Record, Base):
    __tablename__ = "sign_in_settings"
    __record_type__ = "sign_in_settings"

    password_sign_in: Mapped[bool] = mapped_column(Boolean, default=True)

    def history_label(self) -> str:
        return "workspace sign-in settings"


class SsoSignInAttempt(Record, Base):
    __tablename__ = "sso_sign_in_attempts"
    __record_type__ = "sso_sign_in_attempt"
    __history_skip__ = True  # one row per click on the button, gone at the callback

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(128))
    nonce: Mapped[str] = mapped_column(String(128))
    code_verifier: Mapped[str] = mapped_column(String(128))
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    next_path: Mapped[str] = mapped_column(String(2000), default="/")
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
