"""Calendar feeds: action due and review dates, experiment ends and reflection sessions as an
iCalendar (RFC 5545) document, one per person or per team, behind a secret URL token.

The token is shown once (``lessonloop calendar token``); only its SHA-256 is stored, so a
leaked database does not leak feeds, and revoking a token turns its URL into a 404 at once.
Event UIDs are stable (``action-12-due@lessonloop``), so calendar apps update events in place
when a date moves instead of duplicating them.

What a feed shows is what its owner may see, decided when it is fetched: a person's feed holds
only the actions, experiments and reflection sessions of failures that *person* may see now; a
team's feed holds what a plain member of the team may see (:func:`~lessonloop.access.policy.
member_view`), whoever made it — so a private failure's dates never reach a team feed.

Who may do what (a signed-in ``viewer`` — the API and the pages; a ``SystemActor`` — the local
CLI — may do anything): anyone makes a feed of their *own*; a *team* feed is made by the team's
leads and team-role admins (403 for others, org admins included); it is listed and revoked by
them and by org admins. Any other token is a 404, as if it did not exist. The document is
written with the ``icalendar`` library.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

import icalendar
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor, is_person, person_id_of
from lessonloop.access.policy import (
    EDITING_ROLES,
    can_manage_team_feed,
    can_revoke_team_feed,
    member_view,
    visible_actions_clause,
    visible_experiments_clause,
    visible_failure_ids,
)
from lessonloop.access.viewer import Viewer, viewer_for
from lessonloop.actions.models import Action, ActionStatus
from lessonloop.calendars.models import CalendarToken
from lessonloop.errors import Conflict, Invalid, NotFound, PermissionDenied
from lessonloop.experiments.models import Experiment
from lessonloop.failures.models import Failure
from lessonloop.people.models import Membership, Person, Team
from lessonloop.people.service import PersonRef, TeamRef, get_person, get_team
from lessonloop.store.base import utcnow
from lessonloop.store.crud import id_in_range
from lessonloop.worker.models import ReflectionSession, ReflectionStatus

TOKEN_PREFIX = "cal_"
PRODID = "-//lessonloop//calendar feed//EN"
UID_DOMAIN = "lessonloop"
LOOKBACK_DAYS = 90  # past events kept in the feed


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- tokens -----------------------------------------------------------------------------------


def feed_teams(session: Session, viewer: Viewer) -> list[Team]:
    """The teams ``viewer`` may make feeds for (those they lead or administer), by name."""
    teams = viewer.teams_with_role(*EDITING_ROLES)
    if not teams:
        return []
    return list(session.scalars(select(Team).where(Team.id.in_(teams)).order_by(Team.name)))


def _may_manage(viewer: Viewer, row: CalendarToken) -> bool:
    if row.person_id is not None:
        return row.person_id == viewer.person_id
    return row.team_id is not None and can_revoke_team_feed(viewer, row.team_id)


def create_token(
    session: Session,
    *,
    person: PersonRef | None = None,
    team: TeamRef | None = None,
    viewer: Actor,
) -> tuple[CalendarToken, str]:
    """A new feed token for one person or one team; returns the record and the plaintext.

    With a ``viewer``: a person's feed only for the viewer themself, a team's only for its leads
    and team-role admins (403).
    """
    if (person in (None, "")) == (team in (None, "")):
        raise Invalid("give exactly one of a person or a team", field="owner")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(24)
    row = CalendarToken(
        token_hash=digest(plaintext), prefix=plaintext[:10], created_by_id=person_id_of(viewer)
    )
    if person not in (None, ""):
        row.person_id = get_person(session, person, viewer=viewer).id
        if is_person(viewer) and row.person_id != viewer.person_id:
            raise PermissionDenied("you may make a calendar feed of your own only", field="person")
    else:
        assert team is not None
        row.team_id = get_team(session, team, viewer=viewer).id
        if is_person(viewer) and not can_manage_team_feed(viewer, row.team_id):
            raise PermissionDenied("only the team's leads and admins may make its feed", field="team")
    session.add(row)
    session.flush()
    return row, plaintext


def list_tokens(session: Session, *, viewer: Actor) -> list[CalendarToken]:
    """Every token (a system job), or the viewer's own and those of the teams whose feeds they
    may revoke (every team's for an org admin)."""
    stmt = select(CalendarToken).order_by(CalendarToken.id)
    if is_person(viewer):
        mine = CalendarToken.person_id == viewer.person_id
        if viewer.is_admin:
            stmt = stmt.where(or_(mine, CalendarToken.team_id.is_not(None)))
        else:
            teams = viewer.teams_with_role(*EDITING_ROLES)
            stmt = stmt.where(or_(mine, CalendarToken.team_id.in_(teams)) if teams else mine)
    return list(session.scalars(stmt))


def get_token(session: Session, token_id: int | str, *, viewer: Actor) -> CalendarToken:
    """One token by id; 404 when it is not the viewer's to manage."""
    raw = str(token_id).strip()
    row = session.get(CalendarToken, int(raw)) if raw.isdigit() and id_in_range(int(raw)) else None
    if row is None or (is_person(viewer) and not _may_manage(viewer, row)):
        raise NotFound(f"no calendar token {token_id!r}", field="token_id")
    return row


def revoke_token(
    session: Session, ref: int | str, *, now: dt.datetime | None = None, viewer: Actor
) -> CalendarToken:
    """Revoke by id, by the plaintext token (or its URL) or by its shown prefix.

    With a ``viewer``: only a token they may manage (:func:`list_tokens`); others are a 404.
    """
    raw = str(ref).strip()
    if raw.endswith(".ics"):
        raw = raw.rsplit("/", 1)[-1][: -len(".ics")]
    row: CalendarToken | None = None
    if raw.isdigit() and id_in_range(int(raw)):
        row = session.get(CalendarToken, int(raw))
    if row is None:
        row = session.scalar(select(CalendarToken).where(CalendarToken.token_hash == digest(raw)))
    if row is None and raw.startswith(TOKEN_PREFIX):
        matches = list(session.scalars(select(CalendarToken).where(CalendarToken.prefix == raw[:10])))
        if len(matches) > 1:
            raise Conflict("the prefix matches several tokens; revoke by id")
        row = matches[0] if matches else None
    if row is None or (is_person(viewer) and not _may_manage(viewer, row)):
        raise NotFound(f"no calendar token {ref!r}")
    if row.revoked_at is None:
        row.revoked_at = now or utcnow()
        session.flush()
    return row


def resolve(session: Session, token: str) -> CalendarToken:
    """The live token for this plaintext, or NotFound (unknown and revoked look the same)."""
    row = session.scalar(select(CalendarToken).where(CalendarToken.token_hash == digest(token.strip())))
    if row is None or row.revoked_at is not None:
        raise NotFound("no such calendar")
    return row


# --- events -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    uid: str
    day: dt.date
    summary: str
    description: str
    stamp: dt.datetime
    categories: str
    status: str = "CONFIRMED"


def _action_events(actions: list[Action], since: dt.date) -> list[Event]:
    events: list[Event] = []
    for a in actions:
        if a.status == ActionStatus.dropped.value:
            continue
        stamp = a.updated_at or a.created_at
        if a.due_date >= since:
            done = " (done)" if a.status == ActionStatus.done.value else ""
            events.append(
                Event(
                    uid=f"action-{a.id}-due@{UID_DOMAIN}",
                    day=a.due_date,
                    summary=f"Due: {a.title}{done}",
                    description=f"Action #{a.id} of failure #{a.failure_id}, owner {a.owner.name}.",
                    stamp=stamp,
                    categories="ACTION-DUE",
                )
            )
        if a.review_date >= since:
            events.append(
                Event(
                    uid=f"action-{a.id}-review@{UID_DOMAIN}",
                    day=a.review_date,
                    summary=f"Review: did it work? {a.title}",
                    description=(
                        f"Check action #{a.id}: lessonloop action check {a.id} --worked yes|no|partly"
                    ),
                    stamp=stamp,
                    categories="ACTION-REVIEW",
                )
            )
    return events


def _experiment_events(experiments: list[Experiment], since: dt.date) -> list[Event]:
    return [
        Event(
            uid=f"experiment-{e.id}-end@{UID_DOMAIN}",
            day=e.end_date,
            summary=f"Experiment ends: {e.hypothesis}"[:200],
            description=f"Metric {e.metric} {e.comparator} {e.threshold:g}. Record observations: "
            f"lessonloop experiment observe {e.id} VALUE",
            stamp=e.updated_at or e.created_at,
            categories="EXPERIMENT-END",
        )
        for e in experiments
        if e.end_date >= since
    ]


def _reflection_events(rows: list[ReflectionSession], since: dt.date) -> list[Event]:
    return [
        Event(
            uid=f"reflection-{r.id}@{UID_DOMAIN}",
            day=r.scheduled_for,
            summary=r.title,
            description=f"A reflection session on failure #{r.failure_id} ({r.status}).",
            stamp=r.updated_at or r.created_at,
            categories="REFLECTION",
            status="TENTATIVE" if r.status == ReflectionStatus.proposed.value else "CONFIRMED",
        )
        for r in rows
        if r.scheduled_for >= since and r.status != ReflectionStatus.cancelled.value
    ]


def _experiments(session: Session, actions: list[Action], viewer: Viewer) -> list[Experiment]:
    action_ids = [a.id for a in actions]
    if not action_ids:
        return []
    stmt = select(Experiment).where(Experiment.action_id.in_(action_ids), visible_experiments_clause(viewer))
    return list(session.scalars(stmt))


def events_for_person(session: Session, *, today: dt.date, viewer: Viewer) -> list[Event]:
    """The ``viewer``'s actions, their experiments and the reflection sessions of their teams (or
    that they facilitate) — only of failures they may see *now* (an action handed to them on a
    failure they may not see, or a session on a team's private failure, stays out)."""
    since = today - dt.timedelta(days=LOOKBACK_DAYS)
    person = session.get(Person, viewer.person_id)
    if person is None:
        raise NotFound(f"no person with id {viewer.person_id}", field="person")
    actions = list(
        session.scalars(select(Action).where(Action.owner_id == person.id, visible_actions_clause(viewer)))
    )
    experiments = _experiments(session, actions, viewer)
    team_ids = select(Membership.team_id).where(Membership.person_id == person.id)
    reflections = list(
        session.scalars(
            select(ReflectionSession).where(
                or_(ReflectionSession.facilitator_id == person.id, ReflectionSession.team_id.in_(team_ids)),
                ReflectionSession.failure_id.in_(visible_failure_ids(viewer)),
            )
        )
    )
    return (
        _action_events(actions, since)
        + _experiment_events(experiments, since)
        + _reflection_events(reflections, since)
    )


def events_for_team(session: Session, team: Team, *, today: dt.date, viewer: Viewer) -> list[Event]:
    """The dates of the team's failures that ``viewer`` may see. A team feed passes a plain member
    of the team (:func:`~lessonloop.access.policy.member_view`): never a private failure's dates,
    whoever made the feed."""
    since = today - dt.timedelta(days=LOOKBACK_DAYS)
    failure_ids = select(Failure.id).where(Failure.team_id == team.id)
    actions = list(
        session.scalars(
            select(Action).where(Action.failure_id.in_(failure_ids), visible_actions_clause(viewer))
        )
    )
    experiments = _experiments(session, actions, viewer)
    reflections = list(
        session.scalars(
            select(ReflectionSession).where(
                ReflectionSession.team_id == team.id,
                ReflectionSession.failure_id.in_(visible_failure_ids(viewer)),
            )
        )
    )
    return (
        _action_events(actions, since)
        + _experiment_events(experiments, since)
        + _reflection_events(reflections, since)
    )


# --- iCalendar text ---------------------------------------------------------------------------


def _utc(value: dt.datetime) -> dt.datetime:
    """DTSTAMP in UTC (``...Z``); a naive stamp is already UTC (the store keeps UTC)."""
    return value.astimezone(dt.UTC) if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _vevent(ev: Event) -> icalendar.Event:
    vevent = icalendar.Event()
    vevent.add("uid", ev.uid)
    vevent.add("dtstamp", _utc(ev.stamp))
    vevent.add("dtstart", ev.day)  # a date: an all-day event (VALUE=DATE)
    vevent.add("dtend", ev.day + dt.timedelta(days=1))
    vevent.add("summary", ev.summary)
    vevent.add("description", ev.description)
    vevent.add("categories", [ev.categories])
    vevent.add("status", ev.status)
    vevent.add("transp", "TRANSPARENT")
    return vevent


def render(events: list[Event], *, name: str) -> str:
    """The RFC 5545 document: escaping, line folding and CRLFs are the library's."""
    cal = icalendar.Calendar()
    cal.add("version", "2.0")
    cal.add("prodid", PRODID)
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    for ev in sorted(events, key=lambda e: (e.day, e.uid)):
        cal.add_component(_vevent(ev))
    return cal.to_ical().decode()


def feed(session: Session, token: str, *, today: dt.date | None = None) -> str:
    """The text/calendar document behind ``token``; NotFound when unknown or revoked."""
    row = resolve(session, token)
    today = today or dt.date.today()
    # The token is the credential; the feed is read as what its holder may see: the person as
    # their own Viewer, a team's feed as a plain member of the team.
    if row.person_id is not None:
        person = session.get(Person, row.person_id)
        assert person is not None  # a foreign key
        events = events_for_person(session, today=today, viewer=viewer_for(session, person))
        return render(events, name=f"lessonloop: {person.name}")
    team = session.get(Team, row.team_id)
    assert team is not None
    events = events_for_team(session, team, today=today, viewer=member_view(team.id))
    return render(events, name=f"lessonloop: {team.name}")


def feed_path(token: str) -> str:
    return f"/calendar/{token}.ics"


def feed_url(token: str, *, server: str) -> str:
    """The full feed URL: ``LESSONLOOP_CALENDAR_BASE_URL`` when set (a proxy's public address),
    else ``server`` (the address the request came to), then :func:`feed_path`."""
    from lessonloop.notifications.config import WorkerConfig

    base = WorkerConfig.from_env().calendar_base_url or server.rstrip("/")
    return base + feed_path(token)
