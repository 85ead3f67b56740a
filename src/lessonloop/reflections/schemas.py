"""What goes in about reflection sessions: the commands the API takes as bodies, the CLI builds
from its options and the pages build from their forms."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from lessonloop import limits
from lessonloop.fields import Day, Ref


class ScheduleReflection(BaseModel):
    """Plan a reflection session on a failure that has none yet."""

    model_config = ConfigDict(extra="forbid", title="ReflectionIn")
    scheduled_for: Day = Field(description="YYYY-MM-DD, today, tomorrow or +7d / +2w; not in the past.")
    facilitator: Ref | None = Field(
        default=None,
        description="Who runs it (id, handle or e-mail), someone who may see the failure. "
        "Default: the team's first lead or admin who may, else the reporter, else someone involved.",
        examples=["ana"],
    )


class RescheduleReflection(BaseModel):
    """Move a session that has not been held to another date (and, optionally, facilitator)."""

    model_config = ConfigDict(extra="forbid", title="RescheduleIn")
    scheduled_for: Day = Field(description="The new date; not in the past.")
    facilitator: Ref | None = Field(default=None, description="A new facilitator; left out: unchanged.")


class HoldReflection(BaseModel):
    """Record that the session was held, optionally with its notes."""

    model_config = ConfigDict(extra="forbid", title="HeldIn")
    notes: str | None = Field(
        default=None, max_length=limits.LONG_TEXT_MAX, description="What was said; left out: unchanged."
    )


class ReflectionNotes(BaseModel):
    """Replace the session's notes."""

    model_config = ConfigDict(extra="forbid", title="NotesIn")
    notes: str = Field(max_length=limits.LONG_TEXT_MAX, description="What was said and decided.")
