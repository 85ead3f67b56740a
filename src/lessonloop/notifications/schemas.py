"""What goes in about notifications: the commands the API takes as bodies, the CLI builds from its
options and the account page builds from its form."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from lessonloop import limits
from lessonloop.fields import ShortText


class SetPreferences(BaseModel):
    """A person's channels and addresses. Fields left out (or ``null``) stay as they are; ``""``
    clears an address."""

    model_config = ConfigDict(extra="forbid", title="PreferencesIn")
    channels: list[ShortText] | None = Field(
        default=None,
        max_length=limits.CHANNELS_MAX,
        description="The full set: `email`, `webhook` (`in-app` is always on; `[]` = in-app only).",
        examples=[["email"]],
    )
    email: str | None = Field(default=None, max_length=limits.EMAIL_MAX, examples=["ana@example.com"])
    webhook_url: str | None = Field(
        default=None, max_length=limits.URL_MAX, description="The webhook URL your chat tool gave you."
    )
    webhook_kind: str | None = Field(
        default=None,
        max_length=16,
        description="What speaks at the webhook URL: `slack` (any Slack-compatible webhook, the default), "
        "`teams` (a Workflows webhook), `discord`, `mattermost` or `json`.",
        examples=["mattermost"],
    )
