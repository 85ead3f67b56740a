"""What goes in and out about lessons."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from lessonloop import limits
from lessonloop.access.actor import Actor, is_system
from lessonloop.access.policy import can_see_failure
from lessonloop.fields import Ref, Text, When
from lessonloop.lessons.models import Lesson


class LessonOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    title: str
    learned: str
    changed: str
    author_id: int | None
    published_at: dt.datetime | None
    retracted_at: dt.datetime | None = None
    retraction_reason: str = ""
    failure_ids: list[int]
    audience: list[str]

    @classmethod
    def of(cls, lesson: Lesson, viewer: Actor) -> LessonOut:
        """``viewer``: list only the linked failures they may see (a lesson may reach its audience
        without opening its failures to them); ``None`` lists them all."""
        return cls(
            id=lesson.id,
            title=lesson.title,
            learned=lesson.learned,
            changed=lesson.changed,
            author_id=lesson.author_id,
            published_at=lesson.published_at,
            retracted_at=lesson.retracted_at,
            retraction_reason=lesson.retraction_reason or "",
            failure_ids=[f.id for f in lesson.failures if is_system(viewer) or can_see_failure(viewer, f)],
            audience=[t.name for t in lesson.audience],
        )


class WriteLesson(BaseModel):
    """Write a "What we learned" note: a draft, or published at once with ``publish``."""

    model_config = ConfigDict(extra="forbid", title="LessonIn")
    title: Text = Field(
        min_length=1, max_length=limits.TITLE_MAX, examples=["Date every external dependency"]
    )
    learned: Text = Field(min_length=1, max_length=limits.LONG_TEXT_MAX, description="What we learned.")
    changed: str = Field(
        default="", max_length=limits.LONG_TEXT_MAX, description="What we changed because of it."
    )
    author: Ref | None = Field(
        default=None,
        description="Person id, handle or e-mail (default: you; only an org admin names another).",
    )
    failures: list[int] = Field(
        default=[], max_length=limits.LIST_MAX, description="Failures that taught it."
    )
    audience: list[Ref] = Field(
        default=[], max_length=limits.LIST_MAX, description="Teams (id or name) that should hear it."
    )
    publish: bool = Field(default=False, description="Publish now (default: a draft).")
    published_at: When = Field(default=None, description="Backdate a publication.")


class EditLesson(BaseModel):
    """Correct a lesson: only the fields sent change. ``failures`` lists the linked failures you
    may see (the ones you may not see stay linked, untouched)."""

    model_config = ConfigDict(extra="forbid", title="LessonPatch")
    title: Text | None = Field(default=None, min_length=1, max_length=limits.TITLE_MAX)
    learned: Text | None = Field(default=None, min_length=1, max_length=limits.LONG_TEXT_MAX)
    changed: str | None = Field(default=None, max_length=limits.LONG_TEXT_MAX)
    failures: list[int] | None = Field(
        default=None, max_length=limits.LIST_MAX, description="The failures (you may see) that taught it."
    )
    audience: list[Ref] | None = Field(
        default=None, max_length=limits.LIST_MAX, description="Teams (id or name) that should hear it."
    )

    def changes(self) -> dict[str, Any]:
        """The fields that were sent (a partial change), by name."""
        return self.model_dump(exclude_unset=True)


class RetractLesson(BaseModel):
    """Withdraw a published lesson: it stays in history with the reason, no longer a learning."""

    model_config = ConfigDict(extra="forbid", title="RetractIn")
    reason: Text = Field(
        min_length=1, max_length=limits.LONG_TEXT_MAX, description="Why it is retracted (required)."
    )
