"""What goes out about reviews and assumptions."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict

from lessonloop.people.schemas import PersonOut


class AssumptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    statement: str
    status: str
    failure_count: int | None = None


class ReviewOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    failure_id: int
    status: str
    assumption_text: str
    evidence: str
    what_changed: str
    root_cause: str
    gap_type: str | None
    gap_justification: str
    contributing_factors: list[str]
    assumptions: list[AssumptionOut]
    reviewers: list[PersonOut]
    held_at: dt.datetime | None
    completed_at: dt.datetime | None
