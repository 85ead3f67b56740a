"""Issue-tracker sync: connect a team, push an action, take the issue's state back.

Who may do what (decision 46):

* connect, change or remove a team's tracker, map people to tracker users: the team's leads and
  team-role admins and org admins (:func:`~lessonloop.access.scope.require_team_manager`);
* push an action: whoever may work on it (its owner, or whoever may change its failure) —
  :func:`~lessonloop.actions.service.get_workable_action`, the same 404/403 as editing it;
* the issue's state comes back from the tracker (a signed webhook, or the worker's reconcile) and
  is applied as a named :class:`~lessonloop.access.actor.SystemActor`.

A push only *queues*: the request writes an :class:`ActionTrackerLink` in state ``queued`` and
returns; the worker (:mod:`.sync`) talks to the tracker. Closing the issue never completes the
action: the owner is asked for evidence (a notification through the outbox, and the action page
says "issue closed — add evidence to complete"); re-opening it withdraws the question.
"""

from __future__ import annotations

import re
import secrets as _secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor, SystemActor, is_person, person_id_of, require_actor
from lessonloop.access.policy import can_manage_team, can_see, can_work_on_action
from lessonloop.access.scope import require_team_manager
from lessonloop.access.viewer import viewer_for
from lessonloop.actions.models import Action, ActionStatus
from lessonloop.actions.service import get_action, get_workable_action
from lessonloop.coerce import as_text
from lessonloop.errors import Conflict, Invalid, NotFound
from lessonloop.failures.models import Failure
from lessonloop.integrations.trackers.clients import ConnectionParams, NewIssue
from lessonloop.integrations.trackers.models import (
    ActionTrackerLink,
    LinkState,
    TrackerConnection,
    TrackerKind,
)
from lessonloop.integrations.trackers.secrets import mask
from lessonloop.notifications.service import enqueue
from lessonloop.people.models import Person, Team
from lessonloop.people.service import PersonRef, TeamRef, get_person, get_team
from lessonloop.settings import Settings
from lessonloop.store.base import utcnow
from lessonloop.store.history import HistoryEntry

GITHUB_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
JIRA_PROJECT = re.compile(r"^[A-Z][A-Z0-9_]{0,49}$")
#: The notification kind of "the issue was closed: add evidence".
CLOSED_KIND = "tracker-closed"


# -- connections ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectionView:
    """A connection as people see it: the secrets masked, never in full."""

    id: int
    team_id: int
    team: str
    kind: str
    target: str
    server_url: str
    user: str
    token: str
    webhook_secret: str
    issue_type: str
    assignees: dict[str, str]
    webhook_path: str


def webhook_path(connection_id: int) -> str:
    return f"/api/v1/trackers/{connection_id}/webhook"


def _view(session: Session, conn: TrackerConnection) -> ConnectionView:
    team = session.get(Team, conn.team_id)
    return ConnectionView(
        id=conn.id,
        team_id=conn.team_id,
        team=team.name if team is not None else "",
        kind=conn.kind,
        target=conn.target,
        server_url=conn.server_url,
        user=conn.user,
        token=mask(conn.token),
        webhook_secret=mask(conn.webhook_secret),
        issue_type=conn.issue_type,
        assignees=dict(conn.assignees or {}),
        webhook_path=webhook_path(conn.id),
    )


def _url(value: str, field: str, *, required: bool) -> str:
    url = as_text(value or "", field, max_len=500).strip().rstrip("/")
    if not url:
        if required:
            raise Invalid("is required", field=field)
        return ""
    if not re.match(r"^https?://[^\s/]+", url):
        raise Invalid("must be an http(s) address", field=field)
    return url


def connect_tracker(
    session: Session,
    *,
    team: TeamRef,
    kind: str,
    target: str,
    token: str = "",
    webhook_secret: str = "",
    server_url: str = "",
    user: str = "",
    issue_type: str = "",
    viewer: Actor,
) -> ConnectionView:
    """Connect ``team`` to a GitHub repository (``target`` "owner/name", optional ``server_url``:
    the API base URL of GitHub Enterprise) or a Jira project (``target`` the project key,
    ``server_url`` and ``user`` required). Connecting again changes the connection; a token or
    secret left empty then keeps the stored one."""
    team_obj = get_team(session, team, viewer=viewer)
    require_team_manager(viewer, team_obj.id)
    try:
        kind = TrackerKind(str(kind).strip().lower()).value
    except ValueError:
        raise Invalid("must be github or jira", field="kind") from None
    target = as_text(target, "target", required=True, max_len=200).strip()
    if kind == TrackerKind.github.value and not GITHUB_REPO.match(target):
        raise Invalid('must be a repository as "owner/name"', field="repo")
    if kind == TrackerKind.jira.value and not JIRA_PROJECT.match(target):
        raise Invalid("must be a Jira project key, e.g. OPS", field="project")
    server = _url(server_url, "server_url", required=kind == TrackerKind.jira.value)
    user = as_text(user or "", "user", max_len=200).strip()
    if kind == TrackerKind.jira.value and not user:
        raise Invalid("is required for Jira (the e-mail the API token belongs to)", field="user")
    conn = session.scalar(select(TrackerConnection).where(TrackerConnection.team_id == team_obj.id))
    token = as_text(token or "", "token", max_len=4000).strip()
    secret = as_text(webhook_secret or "", "webhook_secret", max_len=4000).strip()
    if conn is None:
        if not token:
            raise Invalid("is required", field="token")
        if len(secret) < 16:
            raise Invalid("must be at least 16 characters", field="webhook_secret")
        conn = TrackerConnection(team_id=team_obj.id, workspace_tag=_secrets.token_hex(4), assignees={})
        session.add(conn)
    elif secret and len(secret) < 16:
        raise Invalid("must be at least 16 characters", field="webhook_secret")
    elif (conn.kind, conn.target, conn.server_url) != (kind, target, server):
        # Another tracker: the issues made (or being made) so far live in the old one. Their
        # links keep the address but leave this connection, so nothing asks the new tracker
        # about them; queued pushes go to the new one.
        session.execute(
            update(ActionTrackerLink)
            .where(
                ActionTrackerLink.connection_id == conn.id,
                ActionTrackerLink.state.in_([LinkState.linked.value, LinkState.pushing.value]),
            )
            .values(connection_id=None)
            .execution_options(synchronize_session=False)
        )
    conn.kind = kind
    conn.target = target
    conn.server_url = server
    conn.user = user
    conn.issue_type = as_text(issue_type or "", "issue_type", max_len=60).strip() or "Task"
    if token:
        conn.token = token
    if secret:
        conn.webhook_secret = secret
    session.flush()
    return _view(session, conn)


def _connection_of_team(session: Session, team_id: int) -> TrackerConnection | None:
    return session.scalar(select(TrackerConnection).where(TrackerConnection.team_id == team_id))


def get_connection(session: Session, *, team: TeamRef, viewer: Actor) -> ConnectionView:
    """The team's connection, secrets masked: for those who may manage the team. 404 if none."""
    team_obj = get_team(session, team, viewer=viewer)
    require_team_manager(viewer, team_obj.id)
    conn = _connection_of_team(session, team_obj.id)
    if conn is None:
        raise NotFound(f"team {team_obj.name} has no tracker connection", field="team")
    return _view(session, conn)


def find_connection(session: Session, *, team: TeamRef, viewer: Actor) -> ConnectionView | None:
    """The team's connection for a page that shows it only to those who may manage it."""
    team_obj = get_team(session, team, viewer=viewer)
    if is_person(viewer) and not can_manage_team(viewer, team_obj.id):
        return None
    conn = _connection_of_team(session, team_obj.id)
    return None if conn is None else _view(session, conn)


def disconnect_tracker(session: Session, *, team: TeamRef, viewer: Actor) -> None:
    """Remove the team's connection. Links already made keep their issue address."""
    team_obj = get_team(session, team, viewer=viewer)
    require_team_manager(viewer, team_obj.id)
    conn = _connection_of_team(session, team_obj.id)
    if conn is None:
        raise NotFound(f"team {team_obj.name} has no tracker connection", field="team")
    session.delete(conn)
    session.flush()


def map_assignee(
    session: Session, *, team: TeamRef, person: PersonRef, login: str, viewer: Actor
) -> ConnectionView:
    """Say who ``person`` is in the team's tracker (GitHub login / Jira account id); an empty
    ``login`` removes the mapping. New issues are assigned to the action owner's mapping."""
    team_obj = get_team(session, team, viewer=viewer)
    require_team_manager(viewer, team_obj.id)
    conn = _connection_of_team(session, team_obj.id)
    if conn is None:
        raise NotFound(f"team {team_obj.name} has no tracker connection", field="team")
    who = get_person(session, person, viewer=viewer)
    login = as_text(login or "", "login", max_len=200).strip()
    mapping = dict(conn.assignees or {})
    if login:
        mapping[who.handle] = login
    else:
        mapping.pop(who.handle, None)
    conn.assignees = mapping  # a new dict: the JSON column sees the change
    session.flush()
    return _view(session, conn)


# -- the action's history -------------------------------------------------------------------------


def _actor_label(session: Session, actor: Actor) -> str:
    """How the history log names who acted: the person's handle, or ``system:<job>``."""
    pid = person_id_of(actor)
    if pid is None:
        return str(actor)
    handle = session.scalar(select(Person.handle).where(Person.id == pid))
    return handle or str(pid)


def note_on_action(session: Session, action_id: int, changes: Mapping[str, Any], *, viewer: Actor) -> None:
    """Write a tracker event into the *action's* history (the failure page shows it there): the
    link row itself keeps no history, its leases and attempts are not something people read."""
    session.connection().execute(
        insert(HistoryEntry),
        [
            {
                "record_type": Action.__record_type__,
                "record_id": action_id,
                "action": "update",
                "actor": _actor_label(session, viewer),
                "at": utcnow(),
                "changes": {k: list(v) for k, v in changes.items()},
            }
        ],
    )


# -- pushing --------------------------------------------------------------------------------------


def _team_of(session: Session, action: Action) -> int | None:
    return session.scalar(select(Failure.team_id).where(Failure.id == action.failure_id))


def push_action(session: Session, action_id: int | str, *, viewer: Actor) -> ActionTrackerLink:
    """Queue ``action`` for its team's tracker. Whoever may work on the action may push it (404 if
    they may not see it, 403 if they may see but not work on it); 409 when its team has no tracker.

    Pushing again is harmless: an action has one link (``UNIQUE(action_id)``) and so at most one
    issue; a push that failed is queued again."""
    action = get_workable_action(session, action_id, viewer=viewer)
    link = session.scalar(select(ActionTrackerLink).where(ActionTrackerLink.action_id == action.id))
    if link is not None and link.state != LinkState.failed.value:
        return link
    team_id = _team_of(session, action)
    conn = None if team_id is None else _connection_of_team(session, team_id)
    if conn is None:
        raise Conflict("the action's team has no issue tracker connected", field="tracker")
    if link is None:
        fresh = ActionTrackerLink(
            action_id=action.id,
            kind=conn.kind,
            connection_id=conn.id,
            closed_round=0,
            awaiting_evidence=False,
        )
        try:
            with session.begin_nested():  # two pushes at once: UNIQUE(action_id) lets one in
                session.add(fresh)
        except IntegrityError:
            again = session.scalar(select(ActionTrackerLink).where(ActionTrackerLink.action_id == action.id))
            if again is None:
                raise
            return again
        link = fresh
    link.connection_id = conn.id
    link.kind = conn.kind
    link.state = LinkState.queued.value
    link.attempts = 0
    link.next_attempt_at = None
    link.last_error = ""
    link.lease_token = ""
    link.lease_until = None
    link.requested_by_id = person_id_of(viewer)
    session.flush()
    note_on_action(
        session, action.id, {"tracker": [None, f"queued for {conn.kind} {conn.target}"]}, viewer=viewer
    )
    return link


def get_link(session: Session, action_id: int | str, *, viewer: Actor) -> ActionTrackerLink | None:
    """The action's tracker link (None when it was never pushed); 404 if the action is unseen."""
    action = get_action(session, action_id, viewer=viewer)
    return session.scalar(select(ActionTrackerLink).where(ActionTrackerLink.action_id == action.id))


def marker_label(tag: str, action_id: int) -> str:
    """The label that names the action's issue in the tracker (at most 50 characters: GitHub's
    label limit). A later attempt looks the issue up by it before creating one."""
    return f"lessonloop-{tag}-action-{action_id}"


def marker_line(tag: str, action_id: int) -> str:
    return f"lessonloop-action:{action_id} workspace:{tag}"


def action_url(settings: Settings, action_id: int) -> str:
    base = settings.tracker_public_url or "http://127.0.0.1:8000"
    return f"{base}/actions/{action_id}"


def issue_for(
    session: Session, action: Action, conn: TrackerConnection, settings: Settings, *, viewer: Actor
) -> NewIssue:
    """What the tracker issue of ``action`` says: its title, the owner mapped, the due date and a
    link back; the marker in the body too, for people and for a search by hand."""
    require_actor(viewer)
    owner = session.get(Person, action.owner_id)
    handle = owner.handle if owner is not None else ""
    login = str((conn.assignees or {}).get(handle, ""))
    url = action_url(settings, action.id)
    body = (
        f"Corrective action #{action.id} from lessonloop.\n\n"
        f"Owner: {owner.name if owner else '?'}{f' (@{login})' if login and conn.kind == 'github' else ''}\n"
        f"Due: {action.due_date.isoformat()}\n"
        f"In lessonloop: {url}\n\n"
        "Closing this issue does not complete the action: its owner adds the evidence in lessonloop.\n\n"
    )
    marker = marker_line(conn.workspace_tag, action.id)
    body += f"<!-- {marker} -->" if conn.kind == TrackerKind.github.value else marker
    return NewIssue(
        title=action.title[:250],
        body=body,
        label=marker_label(conn.workspace_tag, action.id),
        due=action.due_date,
        assignee=login,
    )


def params_of(conn: TrackerConnection) -> ConnectionParams:
    return ConnectionParams(
        id=conn.id,
        kind=conn.kind,
        target=conn.target,
        server_url=conn.server_url,
        user=conn.user,
        token=conn.token,
        issue_type=conn.issue_type,
    )


# -- the issue's state comes back -----------------------------------------------------------------


def apply_issue_state(
    session: Session, link: ActionTrackerLink, state: str, *, source: str, viewer: Actor
) -> bool:
    """Record that the issue is now ``state`` ("open"/"closed"); True if that changed anything.

    Idempotent (a webhook and the reconcile may both report one close). A close of an open
    action asks its owner for evidence — once per close — and never completes the action; a
    re-open withdraws the question."""
    require_actor(viewer)
    if state not in ("open", "closed") or state == link.issue_state:
        return False
    old = link.issue_state or None
    link.issue_state = state
    link.checked_at = utcnow()
    action = session.get(Action, link.action_id)
    if action is None:
        return True
    changes: dict[str, Any] = {"tracker_issue_state": [old, f"{state} ({source})"]}
    if state == "closed" and action.status == ActionStatus.open.value:
        link.awaiting_evidence = True
        link.closed_round += 1
        changes["awaiting_evidence"] = [False, True]
        _ask_for_evidence(session, action, link, viewer=viewer)
    elif state == "open" and link.awaiting_evidence:
        link.awaiting_evidence = False
        changes["awaiting_evidence"] = [True, False]
    session.flush()
    note_on_action(session, action.id, changes, viewer=viewer)
    return True


def evidence_prompt(action: Action, link: ActionTrackerLink) -> tuple[str, str]:
    """The subject and text of "the issue was closed: add evidence" (also at send time)."""
    where = f"{link.kind} issue {link.issue_key}".strip()
    subject = f"The {where} of action #{action.id} was closed: add evidence to complete it"
    body = (
        f"{subject}.\n\nAction: {action.title}\nIssue: {link.issue_url}\n\n"
        "lessonloop does not mark the action done on its own: say what shows it worked,\n"
        f'  lessonloop action done {action.id} --evidence "what you saw"\n'
        "or re-open the issue if the work goes on."
    )
    return subject, body


def _ask_for_evidence(session: Session, action: Action, link: ActionTrackerLink, *, viewer: Actor) -> None:
    """The owner hears of it, if they may (still) see the action: the subject names it. The text
    is rebuilt when sent (:mod:`.sendtime`): a re-open or a completion first makes it moot."""
    owner_view = viewer_for(session, action.owner_id)
    if not can_see(session, owner_view, action):
        return
    subject, body = evidence_prompt(action, link)
    enqueue(
        session,
        person_id=action.owner_id,
        kind=CLOSED_KIND,
        subject=subject,
        body_text=body,
        dedupe_key=f"{CLOSED_KIND}:action:{action.id}:{link.closed_round}",
        record_id=action.id,
        viewer=viewer,
    )


# -- what the action page shows -------------------------------------------------------------------


@dataclass(frozen=True)
class TrackerSection:
    """The tracker part of an action's page: a link once the issue exists, the state of a push,
    "issue closed — add evidence to complete", and whether the viewer may push."""

    connected: bool
    kind: str
    link: ActionTrackerLink | None
    can_push: bool

    @property
    def status(self) -> str:
        if self.link is None:
            return "not pushed"
        if self.link.state == LinkState.linked.value:
            return f"issue {self.link.issue_state or 'open'}"
        if self.link.state == LinkState.failed.value:
            return "push failed"
        return "waiting for the worker"

    def awaiting_evidence(self, action: Action) -> bool:
        return bool(self.link and self.link.awaiting_evidence and action.status == ActionStatus.open.value)


def tracker_section(session: Session, action: Action, *, viewer: Actor) -> TrackerSection:
    require_actor(viewer)
    link = session.scalar(select(ActionTrackerLink).where(ActionTrackerLink.action_id == action.id))
    team_id = _team_of(session, action)
    conn = None if team_id is None else _connection_of_team(session, team_id)
    failure = session.get(Failure, action.failure_id)
    workable = not is_person(viewer) or (failure is not None and can_work_on_action(viewer, action, failure))
    may_push = conn is not None and workable and (link is None or link.state == LinkState.failed.value)
    return TrackerSection(
        connected=conn is not None,
        kind=conn.kind if conn else (link.kind if link else ""),
        link=link,
        can_push=may_push,
    )


SYNC = SystemActor("tracker-sync")
