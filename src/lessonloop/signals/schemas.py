"""What goes in about the signals: the coach and "have we seen this before?" — the commands the API
takes as bodies and the CLI builds from its arguments."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from lessonloop import limits
from lessonloop.fields import Ref, ShortText, Text

CoachText = Annotated[str, StringConstraints(max_length=limits.COACH_TEXT_MAX)]


class CoachAction(BaseModel):
    """An action to score; a ``due_date`` that is not a date counts as no due date."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(default="", max_length=limits.ACTION_TITLE_MAX)
    owner: Ref | None = None
    due_date: ShortText | None = Field(default=None, description="YYYY-MM-DD.")


class CoachReview(BaseModel):
    """At most ``COACH_TEXT_MAX`` characters in all (text, fields and action titles together)."""

    model_config = ConfigDict(extra="forbid", title="CoachIn")
    text: CoachText | None = Field(default=None, description="Free text to check.")
    fields: dict[ShortText, CoachText] | None = Field(
        default=None, max_length=limits.LIST_MAX, description="Review answers by field name."
    )
    actions: list[CoachAction] | None = Field(
        default=None, max_length=limits.LIST_MAX, description="Actions to score: title, owner, due_date."
    )


SIMILAR_LIMIT_MAX = 50
"""The most matches one API call answers (the CLI, local, may ask for more: its own ``--limit``)."""


class FindSimilar(BaseModel):
    """The failure to compare: its title, text and known labels."""

    model_config = ConfigDict(extra="forbid", title="SimilarIn")
    title: Text = Field(
        min_length=1, max_length=limits.TITLE_MAX, description="What went wrong, in one line."
    )
    text: str = Field(default="", max_length=limits.LONG_TEXT_MAX, description="What happened.")
    labels: list[ShortText] = Field(
        default=[], max_length=limits.LABELS_MAX, description="Known labels (they help the ranking)."
    )
    limit: int = Field(default=5, ge=1, le=SIMILAR_LIMIT_MAX)
