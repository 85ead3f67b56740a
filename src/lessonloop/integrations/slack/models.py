"""What the Slack app stores: who is who in Slack, where each team's posts go, and the posts.

* ``SlackIdentity`` ties one person to one Slack user id (both unique): the Slack user acts as
  that person, with that person's rights. It is in the history log (who linked whom, when).
* ``SlackLinkCode`` is a one-time code shown on a person's account page, redeemed with
  ``/lessonloop link CODE``; only its SHA-256 is stored, and it expires (``links.py``).
* ``SlackTeamChannel`` is a team's channel for its weekly digest and its published lessons.
* ``SlackChannelPost`` is one post to a team channel, once per ``dedupe_key`` (the durable
  record that a digest or lesson went out, retried until sent).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lessonloop.people.models import Person, Team
from lessonloop.store.base import Base, Record, UTCDateTime, utcnow

#: Slack ids (``U…``, ``W…``, ``C…``, ``T…``) are short; 32 leaves room without inviting junk.
SLACK_ID_MAX = 32


class SlackIdentity(Record, Base):
    __tablename__ = "slack_identities"
    __record_type__ = "slack_identity"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), unique=True)
    slack_user_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX), unique=True)
    # How it was linked: "code" (the person themself) or "email:<admin handle>".
    linked_by: Mapped[str] = mapped_column(String(200), default="code")

    person: Mapped[Person] = relationship(lazy="joined")


class SlackLinkCode(Record, Base):
    __tablename__ = "slack_link_codes"
    __record_type__ = "slack_link_code"
    __history_skip__ = True  # a secret's hash: bookkeeping, not a record anyone reads

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), unique=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class SlackTeamChannel(Record, Base):
    __tablename__ = "slack_team_channels"
    __record_type__ = "slack_team_channel"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), unique=True)
    channel_id: Mapped[str] = mapped_column(String(SLACK_ID_MAX))

    team: Mapped[Team] = relationship(lazy="joined")


class PostStatus:
    pending = "pending"
    sent = "sent"
    dead = "dead"


class SlackChannelPost(Record, Base):
    __tablename__ = "slack_channel_posts"
    __record_type__ = "slack_channel_post"
    __history_skip__ = True  # machine bookkeeping, like the outbox

    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))  # "weekly-digest" or "lesson"
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=PostStatus.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
