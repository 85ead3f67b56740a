"""The two trackers, behind one small interface: find an issue by its marker label, create one,
read one's state. GitHub through PyGithub, Jira through the ``jira`` package — the field's
clients, pointed at whatever server the connection names (a local stand-in in the tests).

Nothing here touches the database: the sync (:mod:`.sync`) calls these *between* its
transactions, so no database lock is held while a tracker answers slowly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol

from lessonloop.integrations.trackers.models import TrackerKind

GITHUB_API = "https://api.github.com"


@dataclass(frozen=True)
class IssueRef:
    key: str  # GitHub: the number; Jira: the key ("OPS-12")
    url: str  # the issue's web page
    state: str  # "open" or "closed"


@dataclass(frozen=True)
class NewIssue:
    title: str
    body: str
    label: str  # the marker label: how a later attempt finds this issue again
    due: dt.date
    assignee: str = ""  # GitHub login / Jira account id (or user name on Jira Server); "" = none


@dataclass(frozen=True)
class ConnectionParams:
    """What a client needs, copied out of the connection row so no session is open meanwhile."""

    id: int
    kind: str
    target: str
    server_url: str
    user: str
    token: str = field(repr=False)
    issue_type: str = "Task"


class TrackerClient(Protocol):
    def find(self, label: str) -> IssueRef | None: ...

    def create(self, issue: NewIssue) -> IssueRef: ...

    def state(self, key: str) -> IssueRef: ...


class GitHubIssues:
    """GitHub Issues (or GitHub Enterprise with ``server_url`` = ``https://HOST/api/v3``)."""

    def __init__(self, params: ConnectionParams, *, timeout: float) -> None:
        from github import Auth, Github

        self._gh = Github(
            auth=Auth.Token(params.token),
            base_url=(params.server_url or GITHUB_API).rstrip("/"),
            timeout=max(1, int(timeout)),
            retry=None,  # the worker's queue retries, with backoff, across passes
            lazy=True,  # no GET /repos/{owner}/{name} before the calls that matter
        )
        self._repo = self._gh.get_repo(params.target)

    @staticmethod
    def _ref(issue: Any) -> IssueRef:
        return IssueRef(key=str(issue.number), url=issue.html_url, state=issue.state)

    def find(self, label: str) -> IssueRef | None:
        # Listing by label reads the issues themselves (the search API is indexed later, so an
        # issue created a moment ago by a worker that then died could be missed there).
        # Only lessonloop puts this label on anything, and only on the issue it creates.
        for issue in self._repo.get_issues(state="all", labels=[label]):
            return self._ref(issue)
        return None

    def create(self, issue: NewIssue) -> IssueRef:
        made = self._repo.create_issue(
            title=issue.title,
            body=issue.body,
            labels=[issue.label],
            assignees=[issue.assignee] if issue.assignee else [],
        )
        return self._ref(made)

    def state(self, key: str) -> IssueRef:
        return self._ref(self._repo.get_issue(int(key)))


class JiraIssues:
    """A Jira project (Cloud or Data Center), user + API token."""

    def __init__(self, params: ConnectionParams, *, timeout: float) -> None:
        from jira import JIRA

        self._server = params.server_url.rstrip("/")
        self._project = params.target
        self._issue_type = params.issue_type or "Task"
        # get_server_info: the client picks Cloud's or Data Center's search API from the answer.
        self._jira = JIRA(
            server=self._server,
            basic_auth=(params.user, params.token),
            timeout=max(1, int(timeout)),
            max_retries=0,
            get_server_info=True,
            options={"check_update": False},
        )

    def _ref(self, key: str, fields: dict[str, Any]) -> IssueRef:
        category = (((fields.get("status") or {}).get("statusCategory")) or {}).get("key", "")
        return IssueRef(
            key=key, url=f"{self._server}/browse/{key}", state="closed" if category == "done" else "open"
        )

    def find(self, label: str) -> IssueRef | None:
        jql = f'project = "{self._project}" AND labels = "{label}" ORDER BY created ASC'
        found = self._jira.search_issues(jql, maxResults=1, fields=["status", "labels"], json_result=True)
        issues = found.get("issues", []) if isinstance(found, dict) else []
        if not issues:
            return None
        return self._ref(issues[0]["key"], issues[0].get("fields") or {})

    def create(self, issue: NewIssue) -> IssueRef:
        fields: dict[str, Any] = {
            "project": {"key": self._project},
            "issuetype": {"name": self._issue_type},
            "summary": issue.title,
            "description": issue.body,
            "labels": [issue.label],
            "duedate": issue.due.isoformat(),
        }
        if issue.assignee:
            # Cloud names people by account id; Data Center by user name.
            fields["assignee"] = (
                {"accountId": issue.assignee} if self._jira._is_cloud else {"name": issue.assignee}
            )
        made = self._jira.create_issue(fields=fields, prefetch=False)
        return IssueRef(key=made.key, url=f"{self._server}/browse/{made.key}", state="open")

    def state(self, key: str) -> IssueRef:
        issue = self._jira.issue(key, fields="status")
        return self._ref(issue.key, issue.raw.get("fields") or {})


def client_for(params: ConnectionParams, *, timeout: float) -> TrackerClient:
    if params.kind == TrackerKind.github.value:
        return GitHubIssues(params, timeout=timeout)
    return JiraIssues(params, timeout=timeout)
