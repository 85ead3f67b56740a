"""What goes out about corrective actions."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, computed_field

from lessonloop.people.schemas import PersonOut


class ActionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    failure_id: int
    review_id: int | None
    is_primary: bool
    title: str
    owner: PersonOut
    due_date: dt.date
    review_date: dt.date
    status: str
    evidence: str
    drop_reason: str
    closed_at: dt.datetime | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def overdue(self) -> bool:
        return self.status == "open" and self.due_date < dt.date.today()
