"""People and teams. References accept an id, a handle/e-mail (people) or a name (teams).

The directory is open to everyone signed in. Every call names its ``viewer`` (a named
system job is let through, see :mod:`lessonloop.access.scope`): only an org admin adds people and teams; an org
admin or the team's leads and admins add members or change their roles (403 otherwise) — but
nobody changes their own role, and only a lead appoints a lead (an org admin: a team's first),
see :func:`lessonloop.access.policy.role_change_refusal`.
"""

from __future__ import annotations

import re
from typing import TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from lessonloop.access.actor import Actor, is_system, require_actor
from lessonloop.access.policy import role_change_refusal
from lessonloop.access.scope import require_directory_admin, require_team_manager
from lessonloop.coerce import as_enum, as_text
from lessonloop.errors import Conflict, Invalid, NotFound, PermissionDenied
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
    viewer: Actor,
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


def get_person(session: Session, ref: PersonRef, *, field: str = "person", viewer: Actor) -> Person:
    require_actor(viewer)
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


def list_people(session: Session, *, viewer: Actor) -> list[Person]:
    require_actor(viewer)
    return list(session.scalars(select(Person).order_by(Person.handle)))


def people_names(session: Session, person_ids: set[int], *, viewer: Actor) -> dict[int, str]:
    """id → name of these people, in one statement per 900 ids (everyone signed in sees the
    directory, as :func:`list_people`)."""
    require_actor(viewer)
    ids = sorted(person_ids)
    names: dict[int, str] = {}
    for start in range(0, len(ids), 900):  # SQLite's bound-parameter limit
        chunk = ids[start : start + 900]
        names.update(
            (pid, name)
            for pid, name in session.execute(select(Person.id, Person.name).where(Person.id.in_(chunk)))
        )
    return names


def add_team(session: Session, *, name: str, description: str = "", viewer: Actor) -> Team:
    require_directory_admin(viewer, "add teams")
    name = as_text(name, "name", required=True, max_len=120)
    if session.scalar(select(Team).where(func.lower(Team.name) == name.lower())) is not None:
        raise Conflict(f"a team named {name!r} exists already", field="name")
    team = Team(name=name, description=as_text(description, "description", max_len=2000))
    session.add(team)
    session.flush()
    return team


def get_team(session: Session, ref: TeamRef, *, field: str = "team", viewer: Actor) -> Team:
    require_actor(viewer)
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


def get_or_create_team(session: Session, name: str, *, viewer: Actor) -> Team:
    existing = session.scalar(select(Team).where(func.lower(Team.name) == name.strip().lower()))
    return existing if existing is not None else add_team(session, name=name, viewer=viewer)


def list_teams(session: Session, *, viewer: Actor) -> list[Team]:
    # Every caller shows the members (or their count): one query for all rosters, not one per team.
    require_actor(viewer)
    return list(session.scalars(select(Team).options(selectinload(Team.memberships)).order_by(Team.name)))


def team_choices(session: Session, *, viewer: Actor) -> list[tuple[int, str]]:
    """Every team's id and name, by name: what a team picker shows. Two columns, not the teams
    with their rosters (:func:`list_teams`): the failure page needs only this."""
    require_actor(viewer)
    return [(int(i), name) for i, name in session.execute(select(Team.id, Team.name).order_by(Team.name))]


def add_member(
    session: Session,
    *,
    team: TeamRef,
    person: PersonRef,
    role: str | Role = Role.member,
    viewer: Actor,
) -> Membership:
    team_obj = get_team(session, team, viewer=viewer)
    require_team_manager(viewer, team_obj.id)
    person_obj = get_person(session, person, viewer=viewer)
    role_value = as_enum(role, Role, "role").value
    existing = session.scalar(
        select(Membership).where(Membership.team_id == team_obj.id, Membership.person_id == person_obj.id)
    )
    _require_role_change(session, viewer, team_obj.id, person_obj.id, role_value, existing)
    if existing is not None:
        existing.role = role_value  # changing a role is the same gesture as adding
        return existing
    membership = Membership(team=team_obj, person=person_obj, role=role_value)
    session.add(membership)
    session.flush()
    return membership


def _require_role_change(
    session: Session,
    viewer: Actor,
    team_id: int,
    person_id: int,
    role: str,
    existing: Membership | None,
) -> None:
    """403 unless the policy lets ``viewer`` give this role: a lead sees the team's private
    failures, so who may appoint one is a rule (:func:`~lessonloop.access.policy.role_change_refusal`).
    A system job (the local CLI, the demo loader, an import) acts on its own authority."""
    if is_system(viewer):
        return
    leads = session.scalars(
        select(Membership.person_id).where(Membership.team_id == team_id, Membership.role == Role.lead.value)
    )
    refusal = role_change_refusal(
        viewer,
        team_id,
        person_id,
        role,
        current_role=existing.role if existing is not None else None,
        current_leads=list(leads),
    )
    if refusal is not None:
        raise PermissionDenied(refusal, field="role")


def team_ids_of(person: Person) -> list[int]:
    return [m.team_id for m in person.memberships]
