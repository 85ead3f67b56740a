"""What goes in and out about corrective actions."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, computed_field

from lessonloop import limits
from lessonloop.actions.models import is_overdue
from lessonloop.fields import Day, OptionalDay, Ref, Text, When
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
        return is_overdue(self.status, self.due_date, dt.date.today())


# --- commands: the API's bodies, the CLI's options and the pages' forms become these ----------

OWNER_REQUIRED = "every action needs exactly one owner"
BACKFILL_HELP = (
    "This is a back-fill: an action recorded after the fact, so its due date may be in the past "
    "(before today in UTC)."
)


class AddAction(BaseModel):
    """Add a corrective action to a failure (outside a review)."""

    model_config = ConfigDict(extra="forbid", title="ActionIn")
    MISSING: ClassVar[dict[str, str]] = {"owner": OWNER_REQUIRED}
    failure_id: int
    title: Text = Field(min_length=1, max_length=limits.ACTION_TITLE_MAX)
    owner: Ref = Field(description="The ONE owner: person id, handle or e-mail.", examples=["ben"])
    due_date: Day = Field(description="YYYY-MM-DD, today, tomorrow or +7d / +2w.")
    review_date: OptionalDay = Field(default=None, description="Default: due date + 14 days.")
    backfill: bool = Field(default=False, description=BACKFILL_HELP)


class CompleteAction(BaseModel):
    """Complete an open action with what shows it is done."""

    model_config = ConfigDict(extra="forbid", title="CompleteIn")
    evidence: str = Field(
        max_length=limits.LONG_TEXT_MAX, description="What shows it is done: a link, a note."
    )
    done_at: When = Field(
        default=None,
        description="When it was done, to back-fill (ISO 8601 date or time, not in the future); default: now.",
    )


class EditAction(BaseModel):
    """Change an action: re-assign its one owner, move its due or review date, retitle it. Only the
    fields sent change. A due date moved into the past needs ``backfill``."""

    model_config = ConfigDict(extra="forbid", title="ActionPatch")
    title: Text | None = Field(default=None, min_length=1, max_length=limits.ACTION_TITLE_MAX)
    owner: Ref | None = Field(default=None, description="The new ONE owner: person id, handle or e-mail.")
    due_date: OptionalDay = Field(default=None, description="YYYY-MM-DD, today, tomorrow or +7d / +2w.")
    review_date: OptionalDay = Field(default=None, description="When to check it worked.")
    backfill: bool = Field(default=False, description=BACKFILL_HELP)

    def changes(self) -> dict[str, Any]:
        """The fields that were sent (a partial change), by name; ``backfill`` is not a change."""
        return self.model_dump(exclude_unset=True, exclude={"backfill"})


class DropAction(BaseModel):
    """Drop an open action with a written reason."""

    model_config = ConfigDict(extra="forbid", title="DropIn")
    reason: str = Field(max_length=limits.LONG_TEXT_MAX, description="Why it is dropped (required).")


class RescheduleAction(BaseModel):
    """Move an open action's due (and review) date."""

    model_config = ConfigDict(extra="forbid", title="RescheduleIn")
    due_date: Day = Field(description="YYYY-MM-DD, today, tomorrow or +7d / +2w.")
    review_date: OptionalDay = Field(default=None, description="Default: due date + 14 days.")
