"""What goes out about lessons."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict

from lessonloop.access.policy import can_see_failure
from lessonloop.access.viewer import Viewer
from lessonloop.lessons.models import Lesson


class LessonOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    title: str
    learned: str
    changed: str
    author_id: int | None
    published_at: dt.datetime | None
    failure_ids: list[int]
    audience: list[str]

    @classmethod
    def of(cls, lesson: Lesson, viewer: Viewer | None = None) -> LessonOut:
        """``viewer``: list only the linked failures they may see (a lesson may reach its audience
        without opening its failures to them); ``None`` lists them all."""
        return cls(
            id=lesson.id,
            title=lesson.title,
            learned=lesson.learned,
            changed=lesson.changed,
            author_id=lesson.author_id,
            published_at=lesson.published_at,
            failure_ids=[f.id for f in lesson.failures if viewer is None or can_see_failure(viewer, f)],
            audience=[t.name for t in lesson.audience],
        )
