"""Who is looking: the signed-in person, whether they are an org admin, and their team roles."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from sqlalchemy import select
from sqlalchemy.orm import Session

from lessonloop.accounts.models import Account
from lessonloop.people.models import Membership, Person, Role


@dataclass(frozen=True)
class Viewer:
    """A signed-in person as the visibility rules see them.

    ``is_admin`` is the org-wide flag on the person's :class:`Account`; ``roles`` maps a team id
    to the person's role in it (``member``, ``lead`` or ``admin``). A team-role ``admin`` is an
    admin *of that team* only, not an org admin.
    """

    person_id: int
    is_admin: bool = False
    roles: Mapping[int, str] = field(default_factory=lambda: MappingProxyType({}))

    def role_in(self, team_id: int | None) -> str | None:
        return None if team_id is None else self.roles.get(team_id)

    def teams(self) -> list[int]:
        return sorted(self.roles)

    def teams_with_role(self, *roles: str | Role) -> list[int]:
        wanted = {str(r) for r in roles}
        return sorted(team for team, role in self.roles.items() if role in wanted)

    def rule_key(self) -> RuleKey:
        """Everything the visibility rules read of this viewer, hashable: two viewers with the
        same key see the same records, so a statement built for one serves the other."""
        return (self.person_id, self.is_admin, tuple(sorted(self.roles.items())))

    @classmethod
    def from_rule_key(cls, key: RuleKey) -> Viewer:
        """The viewer a :meth:`rule_key` stands for (to build a statement kept under that key)."""
        person_id, is_admin, roles = key
        return cls(person_id=person_id, is_admin=is_admin, roles=MappingProxyType(dict(roles)))


#: :meth:`Viewer.rule_key`: person id, org-admin flag, (team id, role) pairs sorted.
RuleKey = tuple[int, bool, tuple[tuple[int, str], ...]]


def viewers_for(session: Session, people: Sequence[Person]) -> list[Viewer]:
    """:func:`viewer_for` for many people in two statements (a page that asks who of everyone may
    see something: an escalation's possible owners), in the order given."""
    ids = [p.id for p in people]
    admins = set(session.scalars(select(Account.person_id).where(Account.is_admin.is_(True))))
    roles: dict[int, dict[int, str]] = {pid: {} for pid in ids}
    for person_id, team_id, role in session.execute(
        select(Membership.person_id, Membership.team_id, Membership.role)
    ):
        if person_id in roles:
            roles[person_id][team_id] = role
    return [Viewer(person_id=pid, is_admin=pid in admins, roles=MappingProxyType(roles[pid])) for pid in ids]


def viewer_for(session: Session, person: Person | int) -> Viewer:
    """Read the person's account flag and memberships fresh from the database."""
    person_id = person if isinstance(person, int) else person.id
    is_admin = session.scalar(select(Account.is_admin).where(Account.person_id == person_id))
    rows = session.execute(
        select(Membership.team_id, Membership.role).where(Membership.person_id == person_id)
    ).all()
    return Viewer(
        person_id=person_id,
        is_admin=bool(is_admin),
        roles=MappingProxyType({team_id: role for team_id, role in rows}),
    )
