"""Issue-tracker sync: a team's connection to GitHub Issues or Jira, and one link per action.

* :class:`TrackerConnection` — one per team: which tracker, where (a GitHub repository or a Jira
  project), the credentials, the webhook secret and who is who there (``assignees``: a person's
  handle → their GitHub login or Jira account id). The token and the secret are kept out of the
  history log and are only ever shown masked (:func:`lessonloop.integrations.trackers.secrets.mask`).
* :class:`ActionTrackerLink` — the durable queue entry *and* the link of one action
  (``UNIQUE(action_id)``: one issue per action, whatever happens). Its ``state`` moves
  ``queued`` → ``pushing`` (leased by one worker) → ``linked``, or ``failed`` after too many
  attempts. The issue's own state (``open``/``closed``) and "awaiting evidence" live on it too.

The link's churn (leases, attempts) is not history; what a person cares about (pushed, issue
created, closed, re-opened) is written to the *action's* history by the service.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lessonloop.store.base import Base, Record, UTCDateTime


class TrackerKind(enum.StrEnum):
    github = "github"
    jira = "jira"


class LinkState(enum.StrEnum):
    queued = "queued"  # waiting for the worker
    pushing = "pushing"  # leased by a worker: an issue may exist already (look it up first)
    linked = "linked"  # the issue exists and is recorded
    failed = "failed"  # gave up after too many attempts; pushing again re-queues it


class TrackerConnection(Record, Base):
    __tablename__ = "tracker_connections"
    __record_type__ = "tracker_connection"
    # Secrets never reach the history log (it is readable by whoever may read the record).
    __history_exclude__ = Base.__history_exclude__ | {"token", "webhook_secret"}

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    # GitHub: "owner/name"; Jira: the project key ("OPS").
    target: Mapped[str] = mapped_column(String(200))
    # GitHub: the API base URL ("" = https://api.github.com; GitHub Enterprise: https://HOST/api/v3);
    # Jira: the server URL (https://example.atlassian.net).
    server_url: Mapped[str] = mapped_column(String(500), default="")
    # Jira: the user (e-mail) the API token belongs to; unused for GitHub.
    user: Mapped[str] = mapped_column(String(200), default="")
    token: Mapped[str] = mapped_column(Text)
    webhook_secret: Mapped[str] = mapped_column(Text)
    # Jira: the issue type of new issues.
    issue_type: Mapped[str] = mapped_column(String(60), default="Task")
    # A random tag naming this lessonloop workspace in the tracker's issues (label and marker), so
    # two workspaces pushing to one repository never adopt each other's issues.
    workspace_tag: Mapped[str] = mapped_column(String(16))
    # handle → GitHub login / Jira account id.
    assignees: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    def history_label(self) -> str:
        return f"{self.kind} connection of team {self.team_id}"


class ActionTrackerLink(Record, Base):
    __tablename__ = "action_tracker_links"
    __record_type__ = "action_tracker_link"
    __history_skip__ = True  # leases and attempts are not history; the action's history says what happened

    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"), unique=True)
    connection_id: Mapped[int | None] = mapped_column(
        ForeignKey("tracker_connections.id", ondelete="SET NULL"), nullable=True, index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default=LinkState.queued.value, index=True)
    # The issue: GitHub's number or Jira's key, and its web address.
    issue_key: Mapped[str] = mapped_column(String(64), default="")
    issue_url: Mapped[str] = mapped_column(String(1000), default="")
    issue_state: Mapped[str] = mapped_column(String(16), default="")  # open | closed ("" before)
    # The issue was closed while the action is open: its owner is asked for evidence.
    awaiting_evidence: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_round: Mapped[int] = mapped_column(Integer, default=0)  # how often it was closed
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), nullable=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_token: Mapped[str] = mapped_column(String(40), default="")
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    checked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
