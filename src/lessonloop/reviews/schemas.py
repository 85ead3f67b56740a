"""What goes in and out about reviews and assumptions."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from lessonloop import limits
from lessonloop.actions.schemas import BACKFILL_HELP, OWNER_REQUIRED
from lessonloop.fields import Day, OptionalDay, Ref, Text, When, blank_is_none
from lessonloop.people.schemas import PersonOut
from lessonloop.reviews.models import GapType
from lessonloop.reviews.questions import (
    KEY_MAX,
    KEY_PATTERN,
    LABEL_MAX,
    LIST_ITEMS_MAX,
    QUESTIONS_MAX,
    TIME_MAX,
    TIMELINE_MAX,
    QuestionType,
)


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
    extra_answers: dict[str, Any] = Field(
        default_factory=dict,
        description="Answers to the extra questions of the review template of the failure's kind, by key.",
    )
    assumptions: list[AssumptionOut]
    reviewers: list[PersonOut]
    held_at: dt.datetime | None
    completed_at: dt.datetime | None


# --- commands: the API's bodies, the CLI's options and review files, the review page's form ----

Factor = Annotated[str, StringConstraints(max_length=limits.NOTE_MAX)]
Assumption = Annotated[str, StringConstraints(max_length=limits.ASSUMPTION_MAX)]


class TimelineLine(BaseModel):
    """One line of a timeline answer: when (free text: "09:40", "Mon 14:00") and what happened."""

    model_config = ConfigDict(extra="forbid", title="TimelineLine")
    time: str = Field(default="", max_length=TIME_MAX)
    text: str = Field(default="", max_length=limits.NOTE_MAX)


ExtraKey = Annotated[str, StringConstraints(max_length=LABEL_MAX)]
ExtraAnswer = Annotated[
    Annotated[str, StringConstraints(max_length=limits.LONG_TEXT_MAX)]
    | Annotated[list[TimelineLine], Field(max_length=TIMELINE_MAX)]
    | Annotated[list[Factor], Field(max_length=TIMELINE_MAX)],
    Field(union_mode="left_to_right"),
]
ExtraAnswers = dict[ExtraKey, ExtraAnswer | None]


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
    extra_answers: ExtraAnswers | None = Field(
        default=None,
        max_length=QUESTIONS_MAX,
        description="Answers to the template's extra questions by key: text, a list of texts, or "
        "timeline lines {time, text}. Only the keys sent change; an empty answer removes it.",
    )
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


class ReviseReview(BaseModel):
    """Correct a completed review: only the fields sent change; none it needs may be emptied.
    ``held_at`` back-fills when the review was really held (not in the future)."""

    model_config = ConfigDict(extra="forbid", title="ReviewRevision")
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
    held_at: When = Field(default=None, description="When the review was held (ISO 8601 date or time).")

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class ActionSpec(BaseModel):
    """One action a review decides on (its one owner, due date and review date)."""

    model_config = ConfigDict(extra="forbid", title="ActionSpec")
    MISSING: ClassVar[dict[str, str]] = {"owner": OWNER_REQUIRED}
    title: Text = Field(min_length=1, max_length=limits.ACTION_TITLE_MAX)
    owner: Ref = Field(description="The ONE owner: person id, handle or e-mail.", examples=["ben"])
    due_date: Day = Field(description="YYYY-MM-DD, today, tomorrow or +7d / +2w.")
    review_date: OptionalDay = Field(default=None, description="Default: due date + 14 days.")
    backfill: bool = Field(default=False, description=BACKFILL_HELP)

    def spec(self) -> dict[str, Any]:
        return self.model_dump(include={"title", "owner", "due_date", "review_date", "backfill"})


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


# --- review templates per failure kind (reviews/templates.py) ---------------------------------


class TemplateQuestion(BaseModel):
    """One extra question of a review template."""

    model_config = ConfigDict(extra="forbid", title="TemplateQuestion", from_attributes=True)
    key: str = Field(
        default="",
        max_length=KEY_MAX,
        pattern=KEY_PATTERN,
        description="Stable name of the answer (a-z, 0-9, _); blank: made from the label.",
    )
    label: str = Field(min_length=1, max_length=LABEL_MAX, description="The question as asked.")
    help: str = Field(default="", max_length=limits.NOTE_MAX, description="A hint shown under it.")
    type: QuestionType = Field(
        default=QuestionType.text,
        description="text; list (up to max_items entries, e.g. 5 whys); timeline (time + text lines).",
    )
    required: bool = Field(default=False, description="Needed to complete the review.")
    max_items: int = Field(default=5, ge=1, le=LIST_ITEMS_MAX, description="Entries of a list question.")


class SetReviewTemplate(BaseModel):
    """The extra questions of one failure kind's review template, in order (replaces them all)."""

    model_config = ConfigDict(extra="forbid", title="ReviewTemplateIn")
    questions: list[TemplateQuestion] = Field(default=[], max_length=QUESTIONS_MAX)


class ReviewTemplateOut(BaseModel):
    kind: str
    kind_label: str
    customized: bool = Field(description="An org admin changed it (false: the built-in default).")
    questions: list[TemplateQuestion]
