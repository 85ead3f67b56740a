"""The failure list's exact total without counting every visible failure (decision 44).

``failure_counts`` holds how many failures there are per visibility and team, kept by triggers
(migration 0024). The visibility rule (``access.policy.visible_failures_clause``) lets a person
see whole groups — every ``org`` failure, the ``team`` failures of their teams (and of no team;
all of them for an org admin), the ``private`` failures of the teams they lead — plus their own
failures (reported or involved in) outside those groups. So the total is a sum over a few dozen
rows and a count of the person's own few failures, instead of a scan of every visible failure
(42,000 at 100k, 9–45 ms per page request).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, func, or_, select, true, union
from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor, is_system
from lessonloop.access.viewer import Viewer
from lessonloop.failures.models import Failure, FailureCount, Visibility, failure_people
from lessonloop.people.models import Role


def _whole_group(viewer: Viewer, visibility: str, team_key: int) -> bool:
    """Does ``viewer`` see every failure of this group (``team_key`` 0: no team)?"""
    if visibility == Visibility.org.value:
        return True
    if visibility == Visibility.team.value:
        return viewer.is_admin or team_key == 0 or team_key in viewer.roles
    if visibility == Visibility.private.value:
        return team_key != 0 and viewer.role_in(team_key) == Role.lead.value
    return False


def _whole_group_clause(viewer: Viewer) -> ColumnElement[bool]:
    """:func:`_whole_group` on a ``failures`` row."""
    members, leads = viewer.teams(), viewer.teams_with_role(Role.lead)
    team_rule = or_(
        true() if viewer.is_admin else false(),
        Failure.team_id.is_(None),
        Failure.team_id.in_(members) if members else false(),
    )
    return or_(
        Failure.visibility == Visibility.org.value,
        and_(Failure.visibility == Visibility.team.value, team_rule),
        and_(
            Failure.visibility == Visibility.private.value, Failure.team_id.in_(leads) if leads else false()
        ),
    )


def visible_failure_total(session: Session, *, viewer: Actor) -> int:
    """How many failures ``viewer`` may see: exactly ``count(*)`` under the visibility rule."""
    groups = session.execute(select(FailureCount.visibility, FailureCount.team_key, FailureCount.n)).all()
    if is_system(viewer):
        return sum(int(n) for _v, _t, n in groups)
    whole = sum(int(n) for visibility, team_key, n in groups if _whole_group(viewer, visibility, team_key))
    pid = viewer.person_id
    # Their failure ids as a union of two index lookups (reporter, involved): an OR of the two
    # in one WHERE makes both engines scan every failure.
    own_ids = union(
        select(Failure.id).where(Failure.reporter_id == pid),
        select(failure_people.c.failure_id).where(failure_people.c.person_id == pid),
    )
    own = select(func.count()).where(
        Failure.id.in_(own_ids),
        Failure.visibility.in_([Visibility.team.value, Visibility.private.value]),
        ~_whole_group_clause(viewer),
    )
    return whole + int(session.scalar(own) or 0)
