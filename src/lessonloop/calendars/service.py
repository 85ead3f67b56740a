"""Calendar feeds: action due and review dates, experiment ends and reflection sessions as an
iCalendar (RFC 5545) document, one per person or per team, behind a secret URL token.

The token is shown once (``lessonloop calendar token``); only its SHA-256 is stored, so a
leaked database does not leak feeds, and revoking a token turns its URL into a 404 at once.
Event UIDs are stable (``action-12-due@lessonloop``), so calendar apps update events in place
when a date moves instead of duplicating them.

Who may do what (``viewer`` given — the API and the pages; ``viewer=None`` is a trusted local
caller, the CLI): anyone makes a feed of their *own*; a *team* feed is made by the team's leads
and org admins (403 for others). A viewer lists and revokes their own feeds and the feeds of the
teams they may make feeds for; any other token is a 404, as if it did not exist.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from lessonloop.access.viewer import Viewer
from lessonloop.actions.models import Action, ActionStatus
from lessonloop.calendars.models import CalendarToken
from lessonloop.errors import Conflict, Invalid, NotFound, PermissionDenied
from lessonloop.experiments.models import Experiment
from lessonloop.failures.models import Failure
from lessonloop.people.models import Membership, Person, Role, Team
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


def can_manage_team_feeds(viewer: Viewer, team_id: int) -> bool:
    """A team's feed is for its leads and for org admins to hand out."""
    return viewer.is_admin or viewer.role_in(team_id) == Role.lead.value


def feed_teams(session: Session, viewer: Viewer) -> list[Team]:
    """The teams ``viewer`` may make (and list, and revoke) feeds for, by name."""
    stmt = select(Team).order_by(Team.name)
    if not viewer.is_admin:
        lead = viewer.teams_with_role(Role.lead)
        if not lead:
            return []
        stmt = stmt.where(Team.id.in_(lead))
    return list(session.scalars(stmt))


def _may_manage(viewer: Viewer, row: CalendarToken) -> bool:
    if row.person_id is not None:
        return row.person_id == viewer.person_id
    return row.team_id is not None and can_manage_team_feeds(viewer, row.team_id)


def create_token(
    session: Session,
    *,
    person: PersonRef | None = None,
    team: TeamRef | None = None,
    viewer: Viewer | None = None,
) -> tuple[CalendarToken, str]:
    """A new feed token for one person or one team; returns the record and the plaintext.

    With a ``viewer``: a person's feed only for the viewer themself, a team's only for its leads
    and org admins (403).
    """
    if (person in (None, "")) == (team in (None, "")):
        raise Invalid("give exactly one of a person or a team", field="owner")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(24)
    row = CalendarToken(token_hash=digest(plaintext), prefix=plaintext[:10])
    if person not in (None, ""):
        row.person_id = get_person(session, person).id
        if viewer is not None and row.person_id != viewer.person_id:
            raise PermissionDenied("you may make a calendar feed of your own only", field="person")
    else:
        assert team is not None
        row.team_id = get_team(session, team).id
        if viewer is not None and not can_manage_team_feeds(viewer, row.team_id):
            raise PermissionDenied("only the team's leads and org admins may make its feed", field="team")
    session.add(row)
    session.flush()
    return row, plaintext


def list_tokens(session: Session, *, viewer: Viewer | None = None) -> list[CalendarToken]:
    """Every token (trusted caller), or the viewer's own and those of teams they make feeds for."""
    stmt = select(CalendarToken).order_by(CalendarToken.id)
    if viewer is not None:
        teams = [t.id for t in feed_teams(session, viewer)]
        mine = CalendarToken.person_id == viewer.person_id
        stmt = stmt.where(or_(mine, CalendarToken.team_id.in_(teams)) if teams else mine)
    return list(session.scalars(stmt))


def get_token(session: Session, token_id: int | str, *, viewer: Viewer | None = None) -> CalendarToken:
    """One token by id; 404 when it is not the viewer's to manage."""
    raw = str(token_id).strip()
    row = session.get(CalendarToken, int(raw)) if raw.isdigit() and id_in_range(int(raw)) else None
    if row is None or (viewer is not None and not _may_manage(viewer, row)):
        raise NotFound(f"no calendar token {token_id!r}", field="token_id")
    return row


def revoke_token(
    session: Session, ref: int | str, *, now: dt.datetime | None = None, viewer: Viewer | None = None
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
    if row is None or (viewer is not None and not _may_manage(viewer, row)):
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


def events_for_person(session: Session, person: Person, *, today: dt.date) -> list[Event]:
    since = today - dt.timedelta(days=LOOKBACK_DAYS)
    actions = list(session.scalars(select(Action).where(Action.owner_id == person.id)))
    action_ids = [a.id for a in actions]
    experiments = (
        list(session.scalars(select(Experiment).where(Experiment.action_id.in_(action_ids))))
        if action_ids
        else []
    )
    team_ids = select(Membership.team_id).where(Membership.person_id == person.id)
    reflections = list(
        session.scalars(
            select(ReflectionSession).where(
                or_(ReflectionSession.facilitator_id == person.id, ReflectionSession.team_id.in_(team_ids))
            )
        )
    )
    return (
        _action_events(actions, since)
        + _experiment_events(experiments, since)
        + _reflection_events(reflections, since)
    )


def events_for_team(session: Session, team: Team, *, today: dt.date) -> list[Event]:
    since = today - dt.timedelta(days=LOOKBACK_DAYS)
    failure_ids = select(Failure.id).where(Failure.team_id == team.id)
    actions = list(session.scalars(select(Action).where(Action.failure_id.in_(failure_ids))))
    action_ids = [a.id for a in actions]
    experiments = (
        list(session.scalars(select(Experiment).where(Experiment.action_id.in_(action_ids))))
        if action_ids
        else []
    )
    reflections = list(session.scalars(select(ReflectionSession).where(ReflectionSession.team_id == team.id)))
    return (
        _action_events(actions, since)
        + _experiment_events(experiments, since)
        + _reflection_events(reflections, since)
    )


# --- iCalendar text ---------------------------------------------------------------------------


def _escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def _fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after a space (RFC 5545 3.1)."""
    raw = line.encode()
    if len(raw) <= 75:
        return line
    parts: list[str] = []
    current = b""
    limit = 75
    for ch in line:
        b = ch.encode()
        if len(current) + len(b) > limit:
            parts.append(current.decode())
            current = b""
            limit = 74  # continuation lines start with a space
        current += b
    parts.append(current.decode())
    return "\r\n ".join(parts)


def _stamp(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.strftime("%Y%m%dT%H%M%SZ")


def render(events: list[Event], *, name: str) -> str:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_escape(name)}",
    ]
    for ev in sorted(events, key=lambda e: (e.day, e.uid)):
        lines += [
            "BEGIN:VEVENT",
            f"UID:{ev.uid}",
            f"DTSTAMP:{_stamp(ev.stamp)}",
            f"DTSTART;VALUE=DATE:{ev.day:%Y%m%d}",
            f"DTEND;VALUE=DATE:{ev.day + dt.timedelta(days=1):%Y%m%d}",
            f"SUMMARY:{_escape(ev.summary)}",
            f"DESCRIPTION:{_escape(ev.description)}",
            f"CATEGORIES:{ev.categories}",
            f"STATUS:{ev.status}",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)


def feed(session: Session, token: str, *, today: dt.date | None = None) -> str:
    """The text/calendar document behind ``token``; NotFound when unknown or revoked."""
    row = resolve(session, token)
    today = today or dt.date.today()
    if row.person_id is not None:
        person = session.get(Person, row.person_id)
        assert person is not None  # a foreign key
        return render(events_for_person(session, person, today=today), name=f"lessonloop: {person.name}")
    team = session.get(Team, row.team_id)
    assert team is not None
    return render(events_for_team(session, team, today=today), name=f"lessonloop: {team.name}")


def feed_path(token: str) -> str:
    return f"/calendar/{token}.ics"


def feed_url(token: str, *, server: str) -> str:
    """The full feed URL: ``LESSONLOOP_CALENDAR_BASE_URL`` when set (a proxy's public address),
    else ``server`` (the address the request came to), then :func:`feed_path`."""
    from lessonloop.notifications.config import WorkerConfig

    base = WorkerConfig.from_env().calendar_base_url or server.rstrip("/")
    return base + feed_path(token)
