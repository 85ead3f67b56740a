"""Discuss and record together: comments, a failure's own timeline entries, links and files.

* :class:`Comment` — one table for comments on failures, reviews, actions and lessons: a
  ``target_kind`` and exactly one of four foreign keys (a check constraint says so), each
  ``ON DELETE CASCADE``, so deleting a failure (or its review, an action, a lesson) deletes its
  comments in the database, whichever code path deletes it (decision 39).
* :class:`TimelineEntry` — a dated line a person adds to a failure's timeline ("14:05 vendor
  confirmed the slip"), shown beside the events the failure's records already tell.
* :class:`FailureLink` — a URL (http or https) with a label.
* :class:`Attachment` — a small file, kept in the database as a blob (never on disk under the
  name it was sent with); its name is only shown, and it is served as a download.

Every row has an author (``NULL`` once that person is removed, or when a system job wrote it) and
goes through the history log like any record; an attachment's bytes are left out of the log.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lessonloop.people.models import Person
from lessonloop.store.base import Base, Record, UTCDateTime


class TargetKind(enum.StrEnum):
    failure = "failure"
    review = "review"
    action = "action"
    lesson = "lesson"


#: The column of :class:`Comment` that points at each kind of record.
TARGET_COLUMN = {kind: f"{kind.value}_id" for kind in TargetKind}

ONE_TARGET = (
    " + ".join(f"(CASE WHEN {column} IS NULL THEN 0 ELSE 1 END)" for column in TARGET_COLUMN.values())
    + " = 1"
)


class Comment(Record, Base):
    __tablename__ = "comments"
    __record_type__ = "comment"
    __table_args__ = (CheckConstraint(ONE_TARGET, name="one_target"),)

    target_kind: Mapped[str] = mapped_column(String(16))
    failure_id: Mapped[int | None] = mapped_column(
        ForeignKey("failures.id", ondelete="CASCADE"), nullable=True, index=True
    )
    review_id: Mapped[int | None] = mapped_column(
        ForeignKey("reviews.id", ondelete="CASCADE"), nullable=True, index=True
    )
    action_id: Mapped[int | None] = mapped_column(
        ForeignKey("actions.id", ondelete="CASCADE"), nullable=True, index=True
    )
    lesson_id: Mapped[int | None] = mapped_column(
        ForeignKey("lessons.id", ondelete="CASCADE"), nullable=True, index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), nullable=True)
    text: Mapped[str] = mapped_column(Text)
    # The handles of the people the comment mentions *and* who may see its record: linked on the
    # page and told. A mention of anyone else stays plain text.
    mentions: Mapped[list[str]] = mapped_column(JSON, default=list)
    edited_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    author: Mapped[Person | None] = relationship(lazy="joined")

    @property
    def target_id(self) -> int:
        value = getattr(self, TARGET_COLUMN[TargetKind(self.target_kind)])
        assert value is not None  # the check constraint
        return int(value)


class TimelineEntry(Record, Base):
    __tablename__ = "timeline_entries"
    __record_type__ = "timeline_entry"

    failure_id: Mapped[int] = mapped_column(ForeignKey("failures.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), nullable=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    text: Mapped[str] = mapped_column(Text)
    edited_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    author: Mapped[Person | None] = relationship(lazy="joined")


class FailureLink(Record, Base):
    __tablename__ = "failure_links"
    __record_type__ = "failure_link"

    failure_id: Mapped[int] = mapped_column(ForeignKey("failures.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), nullable=True)
    url: Mapped[str] = mapped_column(String(2000))
    label: Mapped[str] = mapped_column(String(200))

    author: Mapped[Person | None] = relationship(lazy="joined")


class Attachment(Record, Base):
    __tablename__ = "attachments"
    __record_type__ = "attachment"
    # The bytes stay out of the history log (the log keeps the name, type, size and digest).
    __history_exclude__ = Base.__history_exclude__ | {"data"}

    failure_id: Mapped[int] = mapped_column(ForeignKey("failures.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), nullable=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)

    author: Mapped[Person | None] = relationship(lazy="joined")
