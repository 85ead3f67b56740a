"""What goes in and out about tracker connections and links (API and CLI)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class ConnectTracker(BaseModel):
    """Connect a team to GitHub Issues (``repo``) or Jira (``project``, ``server_url``, ``user``)."""

    model_config = ConfigDict(extra="forbid")
    kind: str = Field(max_length=20, description="github or jira")
    repo: str = Field("", max_length=200, description='GitHub: the repository, "owner/name".')
    project: str = Field("", max_length=50, description="Jira: the project key, e.g. OPS.")
    server_url: str = Field(
        "", max_length=500, description="Jira: the server URL. GitHub Enterprise: the API base URL."
    )
    user: str = Field("", max_length=200, description="Jira: the e-mail the API token belongs to.")
    token: str = Field("", max_length=4000, description="The API token (kept; shown masked). Empty: keep.")
    webhook_secret: str = Field(
        "", max_length=4000, description="Shared secret of the webhook (16+ characters). Empty: keep."
    )
    issue_type: str = Field("", max_length=60, description="Jira: the issue type of new issues (Task).")

    @property
    def target(self) -> str:
        return self.repo or self.project


class MapAssignee(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person: str = Field(max_length=320, description="Id, handle or e-mail.")
    login: str = Field("", max_length=200, description="GitHub login / Jira account id; empty removes it.")


class ConnectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    team_id: int
    team: str
    kind: str
    target: str
    server_url: str
    user: str
    token: str = Field(description="Masked: never shown in full.")
    webhook_secret: str = Field(description="Masked: never shown in full.")
    issue_type: str
    assignees: dict[str, str]
    webhook_path: str = Field(description="Where the tracker posts its webhook (after the server's address).")


class LinkOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    action_id: int
    kind: str
    state: str = Field(description="queued, pushing, linked or failed")
    issue_key: str
    issue_url: str
    issue_state: str
    awaiting_evidence: bool
    attempts: int
    last_error: str
    updated_at: dt.datetime
