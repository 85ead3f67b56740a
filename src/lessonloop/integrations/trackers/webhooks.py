"""The tracker tells us an issue was closed or re-opened: a signed webhook per connection.

* GitHub: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`` with the
  connection's webhook secret (GitHub's own scheme); the ``issues`` event, actions ``closed`` and
  ``reopened`` (others are acknowledged and ignored).
* Jira: Jira Cloud's webhooks with a secret send ``X-Hub-Signature: sha256=<hex>`` computed the
  same way; lessonloop also accepts ``X-Hub-Signature-256`` (for a relay or automation rule that
  signs). The ``jira:issue_updated`` event: the status category ``done`` means closed.

A request whose connection is unknown or whose signature does not match is refused with 401
before its body is read as JSON: nothing is touched.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor, require_actor
from lessonloop.errors import Invalid, NotAuthenticated
from lessonloop.integrations.trackers.models import ActionTrackerLink, TrackerConnection, TrackerKind
from lessonloop.integrations.trackers.service import apply_issue_state
from lessonloop.store.crud import id_in_range

SIGNATURE_HEADERS = ("x-hub-signature-256", "x-hub-signature")


def signature(secret: str, body: bytes) -> str:
    """The header value a tracker sends for ``body``: ``sha256=<hex>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _verified(conn: TrackerConnection | None, headers: Mapping[str, str], body: bytes) -> TrackerConnection:
    given = next((headers[h] for h in SIGNATURE_HEADERS if headers.get(h)), "")
    if (
        conn is None
        or not given
        or not hmac.compare_digest(signature(conn.webhook_secret, body), given.strip())
    ):
        # The same answer for an unknown connection and a bad signature: ids are not probed.
        raise NotAuthenticated("the webhook signature does not match", field="signature")
    return conn


def _github_state(headers: Mapping[str, str], payload: dict[str, Any]) -> tuple[str, str] | None:
    if headers.get("x-github-event") != "issues" or payload.get("action") not in ("closed", "reopened"):
        return None
    issue = payload.get("issue") or {}
    state = "closed" if payload["action"] == "closed" else "open"
    return str(issue.get("number", "")), state


def _jira_state(payload: dict[str, Any]) -> tuple[str, str] | None:
    if not str(payload.get("webhookEvent", "")).startswith("jira:issue_"):
        return None
    issue = payload.get("issue") or {}
    category = ((((issue.get("fields") or {}).get("status") or {}).get("statusCategory")) or {}).get("key")
    if not category:
        return None
    return str(issue.get("key", "")), "closed" if category == "done" else "open"


def handle_webhook(
    session: Session, connection_id: int | str, *, headers: Mapping[str, str], body: bytes, viewer: Actor
) -> str:
    """Verify and apply one webhook delivery; returns what was done (for the answer's body).
    ``headers``: lower-cased names."""
    require_actor(viewer)
    number = int(connection_id) if str(connection_id).isdecimal() else 0
    conn = session.get(TrackerConnection, number) if id_in_range(number) else None
    conn = _verified(conn, headers, body)
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Invalid("is not JSON", field="body") from None
    if not isinstance(payload, dict):
        raise Invalid("is not a JSON object", field="body")
    if conn.kind == TrackerKind.github.value:
        if headers.get("x-github-event") == "ping":
            return "pong"
        found = _github_state(headers, payload)
    else:
        found = _jira_state(payload)
    if found is None:
        return "ignored: not an issue closed or re-opened"
    key, state = found
    link = session.scalar(
        select(ActionTrackerLink).where(
            ActionTrackerLink.connection_id == conn.id, ActionTrackerLink.issue_key == key
        )
    )
    if link is None:
        return f"ignored: no action is linked to issue {key}"
    changed = apply_issue_state(session, link, state, source=f"{conn.kind} webhook", viewer=viewer)
    return f"action {link.action_id}: issue {state}" + ("" if changed else " (already known)")
