"""Event webhook endpoints: add, list, disable or enable, and their recent deliveries.

Who may: an org admin for any endpoint (org-wide or a team's); a team's leads and team admins for
their team's endpoints. Whoever adds it, an endpoint receives only what its scope may see (a plain
member of the team, or an org-level viewer: :func:`.events.may_receive`), so making one grants
nobody more than they could read on the pages. An endpoint someone may not manage answers 404,
as a missing one does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from lessonloop import limits
from lessonloop.access.actor import Actor, is_person, require_actor
from lessonloop.access.policy import can_manage_team
from lessonloop.access.viewer import Viewer
from lessonloop.coerce import as_text
from lessonloop.errors import Invalid, NotFound, PermissionDenied
from lessonloop.integrations.webhooks import signing
from lessonloop.integrations.webhooks.events import EVENTS, KIND
from lessonloop.integrations.webhooks.models import EventEndpoint
from lessonloop.notifications.models import Delivery, Notification
from lessonloop.outbound import AllowList, TargetRefused, check_host_without_dns
from lessonloop.people.models import Team
from lessonloop.people.service import TeamRef, get_team
from lessonloop.settings import get_settings
from lessonloop.store.crud import get_or_404


@dataclass(frozen=True)
class Created:
    """A new endpoint and its secret (shown this once; every delivery is signed with it)."""

    endpoint: EventEndpoint
    secret: str


def _may_manage(viewer: Actor, team_id: int | None) -> bool:
    if not is_person(viewer):
        return True  # a named system job (the CLI run by the operator)
    return viewer.is_admin if team_id is None else can_manage_team(viewer, team_id)


def _events(events: Sequence[str]) -> str:
    chosen = [as_text(e, "events", max_len=40).lower() for e in events if str(e).strip()]
    unknown = [e for e in chosen if e not in EVENTS]
    if unknown:
        raise Invalid(f"unknown event {unknown[0]!r}; choose from {', '.join(EVENTS)}", field="events")
    if not chosen:
        raise Invalid(f"choose at least one event: {', '.join(EVENTS)}", field="events")
    return ",".join(e for e in EVENTS if e in chosen)


def _check_url(url: str, allow_hosts: Sequence[str]) -> str:
    """http(s) with a host; a literal inside address refused now (names: at every send)."""
    value = as_text(url, "url", required=True, max_len=limits.URL_MAX)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise Invalid("is not a valid URL", field="url") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname or any(c.isspace() for c in value):
        raise Invalid("must be an http:// or https:// URL with a host", field="url")
    try:
        check_host_without_dns(parts.hostname, AllowList.parse(allow_hosts))
    except TargetRefused:
        raise Invalid(
            "must be a public address: loopback, private and link-local hosts are refused "
            "(an administrator can allow a host with LESSONLOOP_WEBHOOK_ALLOW_HOSTS)",
            field="url",
        ) from None
    return value


def add_endpoint(
    session: Session,
    *,
    url: str,
    events: Sequence[str],
    team: TeamRef | None = None,
    description: str = "",
    allow_hosts: Sequence[str] | None = None,
    viewer: Actor,
) -> Created:
    """Register an endpoint for ``events`` of ``team`` (``None``: the organisation)."""
    require_actor(viewer)
    team_id = get_team(session, team, viewer=viewer).id if team is not None else None
    if not _may_manage(viewer, team_id):
        what = "an organisation endpoint" if team_id is None else "an endpoint for this team"
        raise PermissionDenied(
            f"only an org admin{'' if team_id is None else ' or the team’s leads'} may add {what}"
        )
    allowed = get_settings().webhook_allow_hosts if allow_hosts is None else allow_hosts
    secret = signing.new_secret()
    endpoint = EventEndpoint(
        team_id=team_id,
        url=_check_url(url, allowed),
        secret=secret,
        events=_events(events),
        description=as_text(description, "description", max_len=200),
        active=True,
        created_by_id=viewer.person_id if isinstance(viewer, Viewer) else None,
    )
    session.add(endpoint)
    session.flush()
    return Created(endpoint, secret)


def _visible(viewer: Actor) -> list[int | None] | None:
    """Team ids (``None``: org-wide) whose endpoints ``viewer`` manages; ``None``: all."""
    if not is_person(viewer) or viewer.is_admin:
        return None
    return [t for t in viewer.teams() if can_manage_team(viewer, t)]


def list_endpoints(session: Session, *, viewer: Actor) -> list[EventEndpoint]:
    """The endpoints ``viewer`` may manage, oldest first."""
    require_actor(viewer)
    stmt = select(EventEndpoint).order_by(EventEndpoint.id)
    scope = _visible(viewer)
    if scope is not None:
        if not scope:
            return []
        stmt = stmt.where(EventEndpoint.team_id.in_([t for t in scope if t is not None]))
    return list(session.scalars(stmt))


def get_endpoint(session: Session, endpoint_id: int | str, *, viewer: Actor) -> EventEndpoint:
    require_actor(viewer)
    endpoint = get_or_404(session, EventEndpoint, endpoint_id)
    if not _may_manage(viewer, endpoint.team_id):
        raise NotFound(f"no event webhook with id {endpoint.id}", field="endpoint_id")
    return endpoint


def set_active(session: Session, endpoint_id: int | str, active: bool, *, viewer: Actor) -> EventEndpoint:
    """Disable (nothing more is queued; queued deliveries end dead, "not sent") or enable."""
    endpoint = get_endpoint(session, endpoint_id, viewer=viewer)
    endpoint.active = active
    session.flush()
    return endpoint


def recent_deliveries(
    session: Session, endpoint_id: int | str, *, limit: int = 20, viewer: Actor
) -> list[Delivery]:
    """The endpoint's latest deliveries, newest first (status, attempts, last error)."""
    endpoint = get_endpoint(session, endpoint_id, viewer=viewer)
    stmt = (
        select(Delivery)
        .join(Notification, Delivery.notification_id == Notification.id)
        .where(
            Notification.kind == KIND, Notification.person_id.is_(None), Notification.record_id == endpoint.id
        )
        .order_by(Delivery.id.desc())
        .limit(max(1, min(limit, 200)))
    )
    return list(session.scalars(stmt))


def manageable_teams(session: Session, *, viewer: Actor) -> list[Team]:
    """Teams ``viewer`` may add endpoints for (the admin page's choice), by name."""
    require_actor(viewer)
    teams = list(session.scalars(select(Team).order_by(Team.name)))
    return [t for t in teams if _may_manage(viewer, t.id)]


def may_add_org_endpoint(viewer: Actor) -> bool:
    return _may_manage(viewer, None)
