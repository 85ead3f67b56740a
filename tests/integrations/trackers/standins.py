"""Local stand-ins of the GitHub and Jira REST endpoints the sync uses, on 127.0.0.1.

Each keeps its issues in memory and answers in the JSON shapes PyGithub and ``jira`` read, so the
real clients run against them unchanged (PyGithub with ``base_url``, ``jira`` with ``server=``).
A stand-in checks the credentials, records every call, and can be slowed down: ``delay`` seconds
*after* an issue is stored and before the answer, the window in which a worker that dies leaves
an issue the database does not know of.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "ghp_standin_token_0123456789abcdef"
JIRA_USER = "bot@example.com"
JIRA_TOKEN = "jira-api-token-0123456789"
GITHUB_PREFIX = "/api/v3"


@dataclass
class Tracker:
    """What a stand-in holds: its issues, the calls it answered, and how slow it is."""

    kind: str
    issues: list[dict[str, Any]] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""  # the base URL to configure: GitHub's API base, or Jira's server

    def set_state(self, key: str, state: str) -> None:
        """Close or re-open an issue, as someone in the tracker would."""
        with self.lock:
            for issue in self.issues:
                if str(issue["key"]) == str(key):
                    issue["state"] = state

    def by_label(self, label: str) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(i) for i in self.issues if label in i["labels"]]


def _github_issue(base: str, repo: str, issue: dict[str, Any]) -> dict[str, Any]:
    number = issue["key"]
    host = base.split(GITHUB_PREFIX)[0]
    return {
        "id": 1000 + number,
        "node_id": f"I_{number}",
        "number": number,
        "title": issue["title"],
        "body": issue["body"],
        "state": issue["state"],
        "url": f"{base}/repos/{repo}/issues/{number}",
        "html_url": f"{host}/{repo}/issues/{number}",
        "labels": [
            {"name": n, "id": i + 1, "url": "", "color": "ededed"} for i, n in enumerate(issue["labels"])
        ],
        "assignees": [{"login": a, "id": 7, "type": "User"} for a in issue["assignees"]],
        "assignee": {"login": issue["assignees"][0], "id": 7, "type": "User"} if issue["assignees"] else None,
        "user": {"login": "lessonloop-bot", "id": 1, "type": "User"},
        "comments": 0,
        "created_at": "2026-05-04T09:00:00Z",
        "updated_at": "2026-05-04T09:00:00Z",
        "closed_at": None,
        "locked": False,
    }


def _jira_issue(server: str, issue: dict[str, Any]) -> dict[str, Any]:
    done = issue["state"] == "closed"
    return {
        "id": str(issue["id"]),
        "key": issue["key"],
        "self": f"{server}/rest/api/2/issue/{issue['id']}",
        "fields": {
            "summary": issue["title"],
            "description": issue["body"],
            "labels": list(issue["labels"]),
            "duedate": issue.get("due"),
            "assignee": issue.get("assignee"),
            "status": {
                "name": "Done" if done else "To Do",
                "statusCategory": {"key": "done" if done else "new", "name": "Done" if done else "To Do"},
            },
        },
    }


def make_handler(tracker: Tracker) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length) or b"{}")

        def _authorised(self) -> bool:
            auth = self.headers.get("Authorization", "")
            if tracker.kind == "github":
                return auth in (f"token {TOKEN}", f"Bearer {TOKEN}")
            expected = base64.b64encode(f"{JIRA_USER}:{JIRA_TOKEN}".encode()).decode()
            return auth == f"Basic {expected}"

        def _handle(self, method: str) -> None:
            parts = urlsplit(self.path)
            with tracker.lock:
                tracker.calls.append((method, parts.path))
            if not self._authorised():
                self._send(401, {"message": "Bad credentials"})
                return
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if tracker.kind == "github":
                self._github(method, parts.path, query)
            else:
                self._jira(method, parts.path, query)

        # -- GitHub ------------------------------------------------------------------------
        def _github(self, method: str, path: str, query: dict[str, str]) -> None:
            m = re.fullmatch(GITHUB_PREFIX + r"/repos/([^/]+/[^/]+)/issues(?:/(\d+))?", path)
            if m is None:
                self._send(404, {"message": "Not Found"})
                return
            repo, number = m.group(1), m.group(2)
            base = tracker.url
            if method == "GET" and number is None:
                wanted = [w for w in query.get("labels", "").split(",") if w]
                state = query.get("state", "open")
                with tracker.lock:
                    found = [
                        _github_issue(base, repo, i)
                        for i in tracker.issues
                        if all(w in i["labels"] for w in wanted) and state in ("all", i["state"])
                    ]
                self._send(200, found)
            elif method == "POST" and number is None:
                body = self._body()
                with tracker.lock:
                    issue = {
                        "key": len(tracker.issues) + 1,
                        "title": body["title"],
                        "body": body.get("body", ""),
                        "labels": list(body.get("labels", [])),
                        "assignees": list(body.get("assignees", [])),
                        "state": "open",
                    }
                    tracker.issues.append(issue)
                    out = _github_issue(base, repo, issue)
                time.sleep(tracker.delay)  # stored, not yet answered: the dangerous window
                self._send(201, out)
            elif method == "GET":
                with tracker.lock:
                    match = [i for i in tracker.issues if i["key"] == int(number)]
                    out = _github_issue(base, repo, match[0]) if match else None
                self._send(200, out) if out else self._send(404, {"message": "Not Found"})
            else:
                self._send(405, {"message": "Method not allowed"})

        # -- Jira --------------------------------------------------------------------------
        def _jira(self, method: str, path: str, query: dict[str, str]) -> None:
            server = tracker.url
            if path == "/rest/api/2/serverInfo":
                self._send(
                    200,
                    {
                        "baseUrl": server,
                        "version": "9.12.0",
                        "versionNumbers": [9, 12, 0],
                        "deploymentType": "Server",
                    },
                )
            elif path == "/rest/api/2/field":
                self._send(
                    200,
                    [
                        {"id": "labels", "name": "Labels", "clauseNames": ["labels"]},
                        {"id": "status", "name": "Status", "clauseNames": ["status"]},
                    ],
                )
            elif path == "/rest/api/2/search" and method == "GET":
                jql = query.get("jql", "")
                label = re.search(r'labels = "([^"]+)"', jql)
                project = re.search(r'project = "([^"]+)"', jql)
                with tracker.lock:
                    found = [
                        _jira_issue(server, i)
                        for i in tracker.issues
                        if (label is None or label.group(1) in i["labels"])
                        and (project is None or i["key"].startswith(project.group(1) + "-"))
                    ]
                limit = int(query.get("maxResults", "50"))
                self._send(
                    200, {"startAt": 0, "maxResults": limit, "total": len(found), "issues": found[:limit]}
                )
            elif path == "/rest/api/2/issue" and method == "POST":
                fields = self._body()["fields"]
                with tracker.lock:
                    number = len(tracker.issues) + 1
                    issue = {
                        "id": 10000 + number,
                        "key": f"{fields['project']['key']}-{number}",
                        "title": fields["summary"],
                        "body": fields.get("description", ""),
                        "labels": list(fields.get("labels", [])),
                        "due": fields.get("duedate"),
                        "assignee": fields.get("assignee"),
                        "issuetype": fields.get("issuetype"),
                        "state": "open",
                    }
                    tracker.issues.append(issue)
                time.sleep(tracker.delay)
                self._send(
                    201,
                    {
                        "id": str(issue["id"]),
                        "key": issue["key"],
                        "self": f"{server}/rest/api/2/issue/{issue['id']}",
                    },
                )
            elif (m := re.fullmatch(r"/rest/api/2/issue/([A-Z0-9_]+-\d+)", path)) and method == "GET":
                with tracker.lock:
                    match = [i for i in tracker.issues if i["key"] == m.group(1)]
                    out = _jira_issue(server, match[0]) if match else None
                if out:
                    self._send(200, out)
                else:
                    self._send(404, {"errorMessages": ["Issue does not exist"], "errors": {}})
            else:
                self._send(404, {"errorMessages": [f"no {method} {path} here"], "errors": {}})

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

    return Handler


@contextmanager
def serve(kind: str, *, delay: float = 0.0) -> Iterator[Tracker]:
    """A stand-in of ``kind`` ("github" or "jira") on a free port of 127.0.0.1."""
    tracker = Tracker(kind=kind, delay=delay)
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(tracker))
    server.daemon_threads = True
    root = f"http://127.0.0.1:{server.server_address[1]}"
    tracker.url = root + GITHUB_PREFIX if kind == "github" else root
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield tracker
    finally:
        server.shutdown()
        server.server_close()
