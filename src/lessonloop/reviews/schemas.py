"""What goes in and out about reviews and assumptions."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from lessonloop import limits
from lessonloop.actions.schemas import OWNER_REQUIRED
from lessonloop.fields import Day, OptionalDay, Ref, When, blank_is_none
from lessonloop.people.schemas import PersonOut
from lessonloop.reviews.models import GapType


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


# --- commands: the API's bodies, the CLI's options and review files, the review page's form ----

Factor = Annotated[str, StringConstraints(max_length=limits.NOTE_MAX)]
Assumption = Annotated[str, StringConstraints(max_length=limits.ASSUMPTION_MAX)]


class ReviewAnswers(BaseModel):
    """Only the answers sent change. Completing needs the three answers, root cause, gap type and its justification."""

    model_config = ConfigDict(extra="forbid", title="ReviewAnswers")
    assumption_text: str | None = Field(
        default=None, max_length=limits.LONG_TEXT_MAX, description="Which assumption guided the decision?"
    )
    evidence: str | None = Field(
        default=None, max_length=limits.LONG_TEXT_MAX, description="What evidence did we have?"
    )
    what_changed: str | None = Field(
        default=None, max_length=limits.LONG_TEXT_MAX, description="What changed?"
    )
    root_cause: str | None = Field(default=None, max_length=limits.LONG_TEXT_MAX)
    gap_type: Annotated[GapType | None, BeforeValidator(blank_is_none)] = None
    gap_justification: str | None = Field(
        default=None, max_length=limits.JUSTIFICATION_MAX, description="One line: why this gap type."
    )
    contributing_factors: list[Factor] | None = Field(default=None, max_length=limits.LIST_MAX)
    held_at: When = None
    reviewers: list[Ref] | None = Field(
        default=None, max_length=limits.PEOPLE_MAX, description="People (id, handle or e-mail)."
    )
    assumptions: list[Assumption] | None = Field(
        default=None,
        max_length=limits.LIST_MAX,
        description="General beliefs to count across failures; recorded as failed.",
    )

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class ActionSpec(BaseModel):
    """One action a review decides on (its one owner, due date and review date)."""

    model_config = ConfigDict(extra="forbid", title="ActionSpec")
    MISSING: ClassVar[dict[str, str]] = {"owner": OWNER_REQUIRED}
    title: str = Field(min_length=1, max_length=limits.ACTION_TITLE_MAX)
    owner: Ref = Field(description="The ONE owner: person id, handle or e-mail.", examples=["ben"])
    due_date: Day = Field(description="YYYY-MM-DD, today, tomorrow or +7d / +2w.")
    review_date: OptionalDay = Field(default=None, description="Default: due date + 14 days.")

    def spec(self) -> dict[str, Any]:
        return self.model_dump(include={"title", "owner", "due_date", "review_date"})


class AddReviewAction(ActionSpec):
    """Add an action to a review; at most one is its primary action."""

    model_config = ConfigDict(extra="forbid", title="ReviewActionIn")
    primary: bool = Field(default=False, description="The review's one primary corrective action.")


class StartReview(BaseModel):
    """Start a draft review of a failure."""

    model_config = ConfigDict(extra="forbid", title="StartReviewIn")
    failure_id: int
    held_at: When = None


class ConductReview(BaseModel):
    """Start, answer and complete a review in one go, with its primary and secondary actions."""

    model_config = ConfigDict(extra="forbid", title="ConductReviewIn")
    MISSING: ClassVar[dict[str, str]] = {"owner": OWNER_REQUIRED}
    answers: ReviewAnswers
    primary_action: ActionSpec
    secondary_actions: list[ActionSpec] = Field(default=[], max_length=limits.LIST_MAX)
