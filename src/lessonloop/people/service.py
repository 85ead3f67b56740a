"""People and teams. References accept an id, a handle/e-mail (people) or a name (teams).

The directory is open to everyone signed in. Writes take ``viewer`` (``None``: a trusted local
caller, see :mod:`lessonloop.access.scope`): only an org admin adds people and teams; an org
admin or the team's leads and admins add members or change their roles (403 otherwise).
"""

from __future__ import annotations

import re
from typing import TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from lessonloop.access.scope import require_directory_admin, require_team_manager
from lessonloop.access.viewer import Viewer
from lessonloop.coerce import as_enum, as_text
from lessonloop.errors import Conflict, Invalid, NotFound
from lessonloop.people.models import Membership, Person, Role, Team
from lessonloop.store.crud import id_in_range

_HANDLE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")

PersonRef = int | str | Person
M = TypeVar("M", Person, Team)
TeamRef = int | str | Team


def make_handle(name: str) -> str:
    handle = re.sub(r"[^a-z0-9._-]+", "-", name.strip().lower()).strip("-.")
    return handle[:64] or "person"


def add_person(
    session: Session,
    *,
    name: str,
    handle: str | None = None,
    email: str | None = None,
    viewer: Viewer | None = None,
) -> Person:
    require_directory_admin(viewer, "add people")
    name = as_text(name, "name", required=True, max_len=200)
    handle = as_text(handle, "handle") or make_handle(name)
    if not _HANDLE.match(handle):
        raise Invalid("use lower-case letters, digits, '.', '_' or '-'", field="handle")
    email = as_text(email, "email") or None
    if email is not None and "@" not in email:
        raise Invalid(f"is not an e-mail address: {email!r}", field="email")
    same = Person.handle == handle
    clash = session.scalar(select(Person).where(or_(same, Person.email == email) if email else same))
    if clash is not None:
        raise Conflict(f"a person with handle {handle!r} or that e-mail exists already", field="handle")
    person = Person(name=name, handle=handle, email=email)
    session.add(person)
    session.flush()
    return person


def _by_id(session: Session, model: type[M], raw: str) -> M | None:
    """The record whose id ``raw`` (decimal digits) is; an id no record can have is None."""
    number = int(raw) if len(raw) <= 12 else 0
    return session.get(model, number) if id_in_range(number) else None


def get_person(session: Session, ref: PersonRef, *, field: str = "person") -> Person:
    if isinstance(ref, Person):
        return ref
    raw = str(ref).strip()
    if not raw:
        raise Invalid("is required", field=field)
    person: Person | None
    if raw.isdecimal():
        person = _by_id(session, Person, raw)
    elif "\x00" in raw:  # no handle or e-mail holds one (and PostgreSQL refuses it in a query)
        person = None
    else:
        person = session.scalar(
            select(Person).where(or_(Person.handle == raw.lower(), func.lower(Person.email) == raw.lower()))
        )
    if person is None:
        raise NotFound(f"no person {raw!r} (use an id, handle or e-mail)", field=field)
    return person


def list_people(session: Session) -> list[Person]:
    return list(session.scalars(select(Person).order_by(Person.handle)))


def add_team(session: Session, *, name: str, description: str = "", viewer: Viewer | None = None) -> Team:
    require_directory_admin(viewer, "add teams")
    name = as_text(name, "name", required=True, max_len=120)
    if session.scalar(select(Team).where(func.lower(Team.name) == name.lower())) is not None:
        raise Conflict(f"a team named {name!r} exists already", field="name")
    team = Team(name=name, description=as_text(description, "description", max_len=2000))
    session.add(team)
    session.flush()
    return team


def get_team(session: Session, ref: TeamRef, *, field: str = "team") -> Team:
    if isinstance(ref, Team):
        return ref
    raw = str(ref).strip()
    if not raw:
        raise Invalid("is required", field=field)
    team: Team | None
    if raw.isdecimal():
        team = _by_id(session, Team, raw)
    elif "\x00" in raw:
        team = None
    else:
        team = session.scalar(select(Team).where(func.lower(Team.name) == raw.lower()))
    if team is None:
        raise NotFound(f"no team {raw!r} (use an id or name)", field=field)
    return team


def get_or_create_team(session: Session, name: str) -> Team:
    existing = session.scalar(select(Team).where(func.lower(Team.name) == name.strip().lower()))
    return existing if existing is not None else add_team(session, name=name)


def list_teams(session: Session) -> list[Team]:
    # Every caller shows the members (or their count): one query for all rosters, not one per team.
    return list(session.scalars(select(Team).options(selectinload(Team.memberships)).order_by(Team.name)))


def add_member(
    session: Session,
    *,
    team: TeamRef,
    person: PersonRef,
    role: str | Role = Role.member,
    viewer: Viewer | None = None,
) -> Membership:
    team_obj = get_team(session, team)
    require_team_manager(viewer, team_obj.id)
    person_obj = get_person(session, person)
    role_value = as_enum(role, Role, "role").value
    existing = session.scalar(
        select(Membership).where(Membership.team_id == team_obj.id, Membership.person_id == person_obj.id)
    )
    if existing is not None:
        existing.role = role_value  # changing a role is the same gesture as adding
        return existing
    membership = Membership(team=team_obj, person=person_obj, role=role_value)
    session.add(membership)
    session.flush()
    return membership


def team_ids_of(person: Person) -> list[int]:
    return [m.team_id for m in person.memberships]
