"""What goes in about "did this work?": the command the API takes as a body, the CLI builds from its
options and the action pages build from their form."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from lessonloop import limits
from lessonloop.worker.models import Worked


class AnswerCheck(BaseModel):
    """Answer "did this work?" for an action."""

    model_config = ConfigDict(extra="forbid", title="CheckIn")
    worked: Worked = Field(description="yes, no or partly")
    note: str = Field(default="", max_length=limits.NOTE_MAX, description="What you saw.")
