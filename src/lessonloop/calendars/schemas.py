"""What goes in about calendar feeds: the command the API takes as a body, the CLI builds from its
options and the account page builds from its form."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from lessonloop.fields import Ref


class CreateCalendarFeed(BaseModel):
    """A secret feed URL: a team's, or (no team) the signed-in person's own."""

    model_config = ConfigDict(extra="forbid", title="CalendarTokenIn")
    team: Ref | None = Field(
        default=None,
        description="A team id or name for the team's feed (its leads and org admins); "
        "leave out for your own feed.",
        examples=["Payments"],
    )
