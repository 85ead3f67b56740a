"""What goes in about accounts: the commands the API takes as bodies and the CLI builds from its
options."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from lessonloop import limits


class IssueToken(BaseModel):
    """A new API token: what it is for."""

    model_config = ConfigDict(extra="forbid", title="TokenIn")
    name: str = Field(
        min_length=1,
        max_length=limits.TOKEN_NAME_MAX,
        description="What the token is for.",
        examples=["ci-bot"],
    )
