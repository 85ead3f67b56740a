"""What goes in and out about escalations."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from lessonloop import limits
from lessonloop.escalations.models import EscalationStatus, SupportRoute
from lessonloop.fields import Ref, blank_is_none


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
    route_reason: str
    person_id: int | None
    chosen_by_id: int | None


# --- commands: the API's bodies, the CLI's options and the pages' forms become these ----------


class UpdateEscalation(BaseModel):
    """Acknowledge, resolve or re-assign an escalation, or choose HR / employee assistance for it;
    what is left out stays as it is."""

    model_config = ConfigDict(extra="forbid", title="EscalationPatch")
    status: Annotated[EscalationStatus | None, BeforeValidator(blank_is_none)] = None
    owner: Ref | None = Field(default=None, description="Person id, handle or e-mail.")
    resolution: str | None = Field(
        default=None, max_length=limits.LONG_TEXT_MAX, description="Required when resolving."
    )
    support_route: Annotated[SupportRoute | None, BeforeValidator(blank_is_none)] = Field(
        default=None,
        description="`hr-business-partner` or `employee-assistance` (a lead or admin, with a reason); "
        "the other routes follow from the pattern.",
    )
    reason: str | None = Field(
        default=None,
        max_length=limits.DESCRIPTION_MAX,
        description="Why HR or employee assistance: required to choose one.",
    )
    person: Ref | None = Field(
        default=None,
        description="The person it concerns (when the escalation is not about one person already); "
        "only they, the one who chose and org admins see it afterwards.",
    )
