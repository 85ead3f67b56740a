"""What goes in and out about failures."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from lessonloop import limits
from lessonloop.failures.models import FailureKind, FailureStatus, Severity, Visibility
from lessonloop.fields import Ref, ShortText, Text, When, blank_is_none
from lessonloop.people.schemas import PersonOut


class LogFailure(BaseModel):
    """The command to log a failure: the API's body, the CLI's ``log`` options and the log page's
    form all become this one model. Only the title is required: logging must take under a minute."""

    model_config = ConfigDict(extra="forbid", title="FailureIn")
    title: Text = Field(
        min_length=1, max_length=limits.TITLE_MAX, examples=["Checkout v2 missed the launch date"]
    )
    observation: str = Field(
        default="", max_length=limits.LONG_TEXT_MAX, description="What happened, in a few sentences."
    )
    kind: FailureKind = FailureKind.other
    severity: Severity = Severity.medium
    visibility: Visibility = Visibility.team
    team: Ref | None = Field(default=None, description="Team id or name.")
    reporter: Ref | None = Field(default=None, description="Person id, handle or e-mail (default: you).")
    people: list[Ref] = Field(
        default=[], max_length=limits.PEOPLE_MAX, description="The people involved (id, handle or e-mail)."
    )
    labels: list[ShortText] = Field(default=[], max_length=limits.LABELS_MAX)
    occurred_at: When = Field(default=None, description="ISO 8601 date or time (UTC if no zone).")
    detected_at: When = Field(default=None, description="Default: now.")
    impact: str = Field(default="", max_length=limits.LONG_TEXT_MAX)
    impact_value: float | None = None
    impact_unit: str | None = Field(default=None, max_length=limits.UNIT_MAX)
    external_id: str | None = Field(default=None, max_length=limits.SHORT_TEXT_MAX)
    source: str | None = Field(default=None, max_length=limits.SOURCE_MAX)
    company: str | None = Field(default=None, max_length=limits.SHORT_TEXT_MAX)
    url: str | None = Field(default=None, max_length=limits.URL_MAX)


class EditFailure(BaseModel):
    """Only the fields sent change; ``null`` clears an optional field. ``people`` and ``labels`` replace."""

    model_config = ConfigDict(extra="forbid", title="FailurePatch")
    title: str | None = Field(default=None, max_length=limits.TITLE_MAX)
    observation: str | None = Field(default=None, max_length=limits.LONG_TEXT_MAX)
    kind: FailureKind | None = None
    severity: Severity | None = None
    visibility: Visibility | None = None
    team: Ref | None = None
    people: list[Ref] | None = Field(default=None, max_length=limits.PEOPLE_MAX)
    reporter: Ref | None = None
    labels: list[ShortText] | None = Field(default=None, max_length=limits.LABELS_MAX)
    occurred_at: When = None
    detected_at: When = None
    impact: str | None = Field(default=None, max_length=limits.LONG_TEXT_MAX)
    impact_value: Annotated[float | None, BeforeValidator(blank_is_none)] = None
    impact_unit: str | None = Field(default=None, max_length=limits.UNIT_MAX)
    url: str | None = Field(default=None, max_length=limits.URL_MAX)
    company: str | None = Field(default=None, max_length=limits.SHORT_TEXT_MAX)

    def changes(self) -> dict[str, Any]:
        """The fields that were sent (a partial change), by name."""
        return self.model_dump(exclude_unset=True)


class MoveFailure(BaseModel):
    """Move a failure through the loop (the status machine decides whether it may)."""

    model_config = ConfigDict(extra="forbid", title="TransitionIn")
    status: FailureStatus = Field(description="in-review, acting, re-evaluating or learned.")


class ConfirmRepeat(BaseModel):
    """Confirm that a failure repeats an earlier one."""

    model_config = ConfigDict(extra="forbid", title="RepeatIn")
    repeat_of: int = Field(description="The earlier failure this one repeats.")


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
