"""What goes in about coaching notes and development plans: the commands the API takes as bodies
and the pages build from their forms."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from lessonloop import limits
from lessonloop.fields import Day, Ref, Text


class WriteNote(BaseModel):
    """A private note from a lead about someone in a team they lead."""

    model_config = ConfigDict(extra="forbid", title="NoteIn")
    subject: Ref = Field(description="Who the note is about: person id, handle or e-mail.", examples=["ben"])
    body: Text = Field(min_length=1, max_length=limits.LONG_TEXT_MAX)
    team: Ref | None = Field(default=None, description="The team you lead them in (default: the first).")


class StartPlan(BaseModel):
    """A development plan after a review that found a *skill* gap."""

    model_config = ConfigDict(extra="forbid", title="PlanIn")
    review_id: int = Field(description="A completed review that found a *skill* gap.")
    person: Ref = Field(description="Whose plan: the failure's reporter or one of the people involved.")
    goals: Text = Field(min_length=1, max_length=limits.LONG_TEXT_MAX)
    support: str = Field(default="", max_length=limits.LONG_TEXT_MAX)
    review_date: Day = Field(description="When to look at the plan again: YYYY-MM-DD, today, +7d / +2w.")
