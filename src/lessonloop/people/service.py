"""People and teams. References accept an id, a handle/e-mail (people) or a name (teams)."""

from __future__ import annotations

import re

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from lessonloop.coerce import as_enum, as_text
from lessonloop.errors import Conflict, Invalid, NotFound
from lessonloop.people.models import Membership, Person, Role, Team

_HANDLE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")

PersonRef = int | str | Person
TeamRef = int | str | Team


def make_handle(name: str) -> str:
    handle = re.sub(r"[^a-z0-9._-]+", "-", name.strip().lower()).strip("-.")
    return handle[:64] or "person"


def add_person(session: Session, *, name: str, handle: str | None = None, email: str | None = None) -> Person:
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


def get_person(session: Session, ref: PersonRef, *, field: str = "person") -> Person:
    if isinstance(ref, Person):
        return ref
    raw = str(ref).strip()
    if not raw:
        raise Invalid("is required", field=field)
    person: Person | None
    if raw.isdigit():
        person = session.get(Person, int(raw))
    else:
        person = session.scalar(
            select(Person).where(or_(Person.handle == raw.lower(), func.lower(Person.email) == raw.lower()))
        )
    if person is None:
        raise NotFound(f"no person {raw!r} (use an id, handle or e-mail)", field=field)
    return person


def list_people(session: Session) -> list[Person]:
    return list(session.scalars(select(Person).order_by(Person.handle)))


def add_team(session: Session, *, name: str, description: str = "") -> Team:
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
    team = (
        session.get(Team, int(raw))
        if raw.isdigit()
        else session.scalar(select(Team).where(func.lower(Team.name) == raw.lower()))
    )
    if team is None:
        raise NotFound(f"no team {raw!r} (use an id or name)", field=field)
    return team


def get_or_create_team(session: Session, name: str) -> Team:
    existing = session.scalar(select(Team).where(func.lower(Team.name) == name.strip().lower()))
    return existing if existing is not None else add_team(session, name=name)


def list_teams(session: Session) -> list[Team]:
    return list(session.scalars(select(Team).order_by(Team.name)))


def add_member(
    session: Session, *, team: TeamRef, person: PersonRef, role: str | Role = Role.member
) -> Membership:
    team_obj = get_team(session, team)
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
