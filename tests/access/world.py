"""A small organisation with one person per kind of viewer, for the permission tests."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from lessonloop.access import Viewer, viewer_for
from lessonloop.accounts.models import Account
from lessonloop.failures.models import Failure
from lessonloop.people.models import Person, Team
from lessonloop.people.service import add_member, add_person, add_team
from tests.factories import SYSTEM, failure

VIEWER_KINDS = (
    "reporter",  # reported the failure; in no team
    "involved",  # one of the people involved; in no team
    "member",  # member of the failure's team
    "lead",  # lead of the failure's team
    "team_admin",  # role "admin" in the failure's team (not an org admin)
    "other_member",  # member of another team
    "other_lead",  # lead of another team
    "admin",  # org admin (account flag), in no team
    "outsider",  # signed in, in no team
)


def make_admin(session: Session, person: Person) -> Account:
    """An org admin without the cost of a real password hash (sign-in is not under test)."""
    account = Account(person=person, password_hash="!unusable", is_admin=True, failed_logins=0)
    session.add(account)
    session.flush()
    return account


@dataclass
class World:
    session: Session
    team: Team
    other_team: Team
    people: dict[str, Person]
    failures: dict[tuple[str, bool], Failure]  # (visibility, has_team) → failure

    def viewer(self, kind: str) -> Viewer:
        return viewer_for(self.session, self.people[kind])

    def failure(self, visibility: str, *, has_team: bool = True) -> Failure:
        return self.failures[(visibility, has_team)]


def build_world(session: Session) -> World:
    team = add_team(session, name="Payments", viewer=SYSTEM)
    other = add_team(session, name="Search", viewer=SYSTEM)
    people = {
        kind: add_person(
            session, name=kind.replace("_", " ").title(), handle=kind.replace("_", "-"), viewer=SYSTEM
        )
        for kind in VIEWER_KINDS
    }
    add_member(session, team=team, person=people["member"], role="member", viewer=SYSTEM)
    add_member(session, team=team, person=people["lead"], role="lead", viewer=SYSTEM)
    add_member(session, team=team, person=people["team_admin"], role="admin", viewer=SYSTEM)
    add_member(session, team=other, person=people["other_member"], role="member", viewer=SYSTEM)
    add_member(session, team=other, person=people["other_lead"], role="lead", viewer=SYSTEM)
    make_admin(session, people["admin"])
    failures: dict[tuple[str, bool], Failure] = {}
    for visibility in ("private", "team", "org"):
        for has_team in (True, False):
            failures[(visibility, has_team)] = failure(
                session,
                title=f"{visibility} failure {'in Payments' if has_team else 'with no team'}",
                visibility=visibility,
                team=team if has_team else None,
                reporter=people["reporter"],
                people=[people["involved"]],
            )
    return World(session=session, team=team, other_team=other, people=people, failures=failures)
