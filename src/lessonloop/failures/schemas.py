"""What goes out about failures."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict

from lessonloop.people.schemas import PersonOut


class FailureOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    external_id: str | None
    title: str
    observation: str
    kind: str
    severity: str
    visibility: str
    status: str
    occurred_at: dt.datetime | None
    detected_at: dt.datetime
    team_id: int | None
    reporter_id: int | None
    people: list[PersonOut]
    labels: list[str]
    impact: str
    impact_value: float | None
    impact_unit: str | None
    source: str | None
    company: str | None
    url: str | None
    repeat_of_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
