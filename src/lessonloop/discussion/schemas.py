"""What goes in and out about comments, timeline entries, links and attachments."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from lessonloop import limits
from lessonloop.discussion.models import Attachment, Comment
from lessonloop.discussion.service import TimelineItem
from lessonloop.fields import Text, When
from lessonloop.people.schemas import PersonOut


class CommentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    target_kind: str
    target_id: int
    author: PersonOut | None
    text: str
    mentions: list[str] = Field(description="Handles mentioned who may see the record (and were told).")
    created_at: dt.datetime
    edited_at: dt.datetime | None

    @classmethod
    def of(cls, comment: Comment) -> CommentOut:
        return cls.model_validate(comment)


class TimelineEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    failure_id: int
    author: PersonOut | None
    at: dt.datetime
    text: str
    edited_at: dt.datetime | None


class TimelineItemOut(BaseModel):
    """One line of the timeline: ``kind`` "entry" is a person's own line (``entry_id`` set);
    any other kind is an event the failure's records tell."""

    at: dt.datetime
    kind: str
    text: str
    entry_id: int | None
    author: PersonOut | None
    link: str | None

    @classmethod
    def of(cls, item: TimelineItem) -> TimelineItemOut:
        return cls(
            at=item.at,
            kind=item.kind,
            text=item.text,
            entry_id=item.entry_id,
            author=PersonOut.model_validate(item.author) if item.author is not None else None,
            link=item.link,
        )


class LinkOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    failure_id: int
    url: str
    label: str
    author: PersonOut | None
    created_at: dt.datetime


class AttachmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    failure_id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    author: PersonOut | None
    created_at: dt.datetime
    download: str = Field(description="Where to download it (as an attachment).")

    @classmethod
    def of(cls, attachment: Attachment) -> AttachmentOut:
        return cls(
            id=attachment.id,
            failure_id=attachment.failure_id,
            filename=attachment.filename,
            content_type=attachment.content_type,
            size=attachment.size,
            sha256=attachment.sha256,
            author=PersonOut.model_validate(attachment.author) if attachment.author is not None else None,
            created_at=attachment.created_at,
            download=f"/api/v1/attachments/{attachment.id}",
        )


# --- commands: the API's bodies, the CLI's arguments and the pages' forms become these ----------


class AddComment(BaseModel):
    """Comment on a record; ``@handle`` tells that person if they may see the record."""

    model_config = ConfigDict(extra="forbid", title="CommentIn")
    text: Text = Field(
        min_length=1, max_length=limits.COMMENT_MAX, examples=["@ben can you check the vendor log?"]
    )


class EditComment(BaseModel):
    """Change a comment's text (its author only)."""

    model_config = ConfigDict(extra="forbid", title="CommentPatch")
    text: Text = Field(min_length=1, max_length=limits.COMMENT_MAX)


class AddTimelineEntry(BaseModel):
    """A dated line on a failure's timeline."""

    model_config = ConfigDict(extra="forbid", title="TimelineEntryIn")
    MISSING: ClassVar[dict[str, str]] = {"at": "is required (a date and time, e.g. 2026-05-01 14:05)"}
    at: When = Field(description="When it happened: ISO 8601 (2026-05-01T14:05, UTC if no zone) or now.")
    text: Text = Field(min_length=1, max_length=limits.COMMENT_MAX, examples=["vendor confirmed the slip"])


class EditTimelineEntry(BaseModel):
    """Move or reword a timeline entry (its author only); only what is sent changes."""

    model_config = ConfigDict(extra="forbid", title="TimelineEntryPatch")
    at: When = None
    text: Text | None = Field(default=None, min_length=1, max_length=limits.COMMENT_MAX)


class AddLink(BaseModel):
    """A link on a failure: http or https, with a label."""

    model_config = ConfigDict(extra="forbid", title="LinkIn")
    url: str = Field(max_length=limits.URL_MAX, examples=["https://status.example.com/incidents/42"])
    label: str | None = Field(
        default=None, max_length=limits.SHORT_TEXT_MAX, description="Default: the host."
    )
