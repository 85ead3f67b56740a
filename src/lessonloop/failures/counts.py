"""The failure list's exact total without counting every visible failure (decision 44).

``failure_counts`` holds how many failures there are per visibility and team, kept by triggers
(migration 0024). The visibility rule (``access.policy.visible_failures_clause``) lets a person
see whole groups — every ``org`` failure, the ``team`` failures of their teams (and of no team;
all of them for an org admin), the ``private`` failures of the teams they lead — plus their own
failures (reported or involved in) outside those groups. So the total is a sum over a few dozen
rows and a count of the person's own few failures, instead of a scan of every visible failure
(42,000 at 100k, 9–45 ms per page request). The counts are kept per status too (migration
0026), so the total of one status — the dashboard's "awaiting review", ~90,000 observed failures
at 100k — is the same kind of sum (decision 56).
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import ColumnElement, CompoundSelect, Select, and_, false, func, or_, select, true
from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor, is_system
from lessonloop.access.viewer import RuleKey, Viewer
from lessonloop.failures.models import Failure, FailureCount, Visibility, failure_people
from lessonloop.people.models import Role


def whole_groups(viewer: Viewer, visibility: Any, team_key: Any) -> ColumnElement[bool]:
    """Whether the group ``(visibility, team_key)`` (``team_key`` 0: no team) is one ``viewer``
    sees whole: every ``org`` group; ``team`` groups of their teams and of no team (every one
    for an org admin); ``private`` groups of the teams they lead. ``visibility`` and
    ``team_key`` are the columns of a table keyed by group: ``failure_counts``, or
    ``review_assumptions``' copy of its review's failure's group (decision 73). The same rule on
    a failure's own row is :func:`_whole_group_clause`."""
    members, leads = viewer.teams(), viewer.teams_with_role(Role.lead)
    team_rule = or_(
        true() if viewer.is_admin else false(),
        team_key == 0,
        team_key.in_(members) if members else false(),
    )
    return or_(
        visibility == Visibility.org.value,
        and_(visibility == Visibility.team.value, team_rule),
        and_(visibility == Visibility.private.value, team_key.in_(leads) if leads else false()),
    )


def _whole_groups(viewer: Viewer) -> ColumnElement[bool]:
    """The ``failure_counts`` rows of the groups ``viewer`` sees whole."""
    return whole_groups(viewer, FailureCount.visibility, FailureCount.team_key)


def _whole_group_clause(viewer: Viewer) -> ColumnElement[bool]:
    """:func:`_whole_groups` on a ``failures`` row; two-valued (never NULL), as it is negated."""
    members, leads = viewer.teams(), viewer.teams_with_role(Role.lead)
    team_rule = or_(
        true() if viewer.is_admin else false(),
        Failure.team_id.is_(None),
        Failure.team_id.in_(members) if members else false(),
    )
    # ``team_id IN (…)`` is NULL for a failure of no team: without the IS NOT NULL, a lead's own
    # private failure of no team was NULL here, so neither a whole group nor counted as their own.
    in_lead_team = and_(Failure.team_id.is_not(None), Failure.team_id.in_(leads)) if leads else false()
    return or_(
        Failure.visibility == Visibility.org.value,
        and_(Failure.visibility == Visibility.team.value, team_rule),
        and_(Failure.visibility == Visibility.private.value, in_lead_team),
    )


def _outside_whole_groups(viewer: Viewer) -> ColumnElement[bool]:
    """A failure that ``viewer`` may see only as their own (reported or involved in), if at all."""
    return and_(
        Failure.visibility.in_([Visibility.team.value, Visibility.private.value]),
        ~_whole_group_clause(viewer),
    )


@functools.lru_cache(maxsize=512)
def own_failures_outside_groups(rule: RuleKey) -> CompoundSelect[int]:
    """The ids of the failures the viewer may see only as their own: reported by them or with
    them involved, outside the groups they see whole. With :func:`whole_groups` it is exactly
    the visibility rule; the two halves are two index lookups (reporter, involvement), as in
    :func:`_own_count`. Kept per rule key."""
    viewer = Viewer.from_rule_key(rule)
    pid, outside = viewer.person_id, _outside_whole_groups(viewer)
    reported = select(Failure.id).where(Failure.reporter_id == pid, outside)
    fp = failure_people
    involved = (
        select(fp.c.failure_id)
        .select_from(fp.join(Failure, Failure.id == fp.c.failure_id))
        .where(fp.c.person_id == pid, outside)
    )
    return reported.union_all(involved)


@functools.lru_cache(maxsize=512)
def _own_count(rule: RuleKey, status: str | None = None) -> ColumnElement[int]:
    """The count of the viewer's own failures outside their whole groups (in ``status``, when
    given), built once per :meth:`~lessonloop.access.viewer.Viewer.rule_key` and status (building
    it cost more than running it)."""
    viewer = Viewer.from_rule_key(rule)
    pid = viewer.person_id
    outside = and_(
        _outside_whole_groups(viewer),
        # ``status || ''``: the person's few failures are found by reporter / involvement and
        # their status checked on the row; a plain ``status = ?`` made SQLite count them off the
        # status index instead, through all ~90,000 observed failures (decision 56).
        true() if status is None else Failure.status.concat("") == status,
    )
    # Those they reported, counted off ix_failures_reporter_cover (reporter, visibility, team:
    # migration 0025) without reading a failure row, plus those they are involved in and did not
    # report: two index lookups, where an OR of the two in one WHERE makes both engines scan
    # every failure, and a union of the ids read each failure's row to check its group.
    # correlate(None): never tied to an enclosing statement's ``failures`` (the list's page).
    reported = (
        select(func.count()).select_from(Failure).where(Failure.reporter_id == pid, outside).correlate(None)
    )
    fp = failure_people
    involved = (
        select(func.count())
        .select_from(fp.join(Failure, Failure.id == fp.c.failure_id))
        .where(
            fp.c.person_id == pid,
            or_(Failure.reporter_id.is_(None), Failure.reporter_id != pid),
            outside,
        )
        .correlate(None)
    )
    return reported.scalar_subquery() + involved.scalar_subquery()


@functools.lru_cache(maxsize=512)
def total_statement(rule: RuleKey | None, status: str | None = None) -> Select[int]:
    """:func:`visible_failure_total` as one statement: the kept counts of the groups the viewer
    sees whole, summed in SQL, plus :func:`_own_count` (``rule`` ``None``: a system job, every
    group). One statement, so that the failure list can read it in its page's own statement
    (``failures/listing.py``); kept per rule key and status like ``_own_count``."""
    groups = select(func.coalesce(func.sum(FailureCount.n), 0))
    if status is not None:
        groups = groups.where(FailureCount.status == status)
    if rule is None:
        return groups
    whole = groups.where(_whole_groups(Viewer.from_rule_key(rule))).correlate(None).scalar_subquery()
    return select(whole + _own_count(rule, status))


def visible_failure_total(session: Session, *, status: str | None = None, viewer: Actor) -> int:
    """How many failures ``viewer`` may see (in ``status``, when given): exactly ``count(*)``
    under the visibility rule."""
    rule = None if is_system(viewer) else viewer.rule_key()
    return int(session.connection().scalar(total_statement(rule, status)) or 0)  # no ORM step
