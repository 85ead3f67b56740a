"""What goes out about escalations."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict


class EscalationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    rule: str
    subject: str
    team_id: int | None
    owner_id: int | None
    status: str
    support_route: str
    failure_ids: list[int]
    count: int
    window_days: int
    explanation: str
    opened_at: dt.datetime
    resolved_at: dt.datetime | None
    resolution: str
