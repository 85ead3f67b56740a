"""Escalation: the same cause label, failed assumption or team repeating N times in D days.

Defaults come from the seed: 3 times in 90 days. A check looks at the trailing window ending
``now``: escalation is about patterns that persist *now* (old, closed history does not page
anyone); the CLI/API run it after every logged failure and the worker runs it daily.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor, is_person, is_system, require_actor
from lessonloop.access.policy import EDITING_ROLES, can_see_escalation
from lessonloop.access.scope import not_found
from lessonloop.access.viewer import Viewer
from lessonloop.coerce import as_enum, as_text
from lessonloop.errors import Conflict, Invalid, PermissionDenied
from lessonloop.escalations.models import (
    ROUTE_LABELS,
    Escalation,
    EscalationRule,
    EscalationStatus,
    SupportRoute,
)
from lessonloop.failures.models import Failure, FailureKind, FailureLabel, Severity, failure_people
from lessonloop.people.models import Membership, Role
from lessonloop.people.service import PersonRef, get_person
from lessonloop.reviews.models import Assumption, AssumptionStatus, Review, review_assumptions
from lessonloop.settings import Settings
from lessonloop.store.base import utcnow
from lessonloop.store.crud import get_or_404

# Labels that say "no cause known": they never form a pattern.
NON_CAUSES = frozenset({"uncategorized", "unknown", "other", ""})
_HR = re.compile(
    r"\b(performance review|promotion|legal|lawsuit|litigation|compliance|harass\w*|discriminat\w*)\b", re.I
)
_COMMS = re.compile(
    r"\b(communicat\w*|miscommunicat\w*|hand-?offs?|handover|misalign\w*|escalat\w* path)\b", re.I
)


@dataclass(frozen=True)
class EscalationPolicy:
    threshold: int = 3
    window_days: int = 90

    @classmethod
    def from_settings(cls, settings: Settings) -> EscalationPolicy:
        if settings.escalation_threshold < 2 or settings.escalation_window_days < 1:
            raise Invalid("escalation threshold must be >= 2 and window >= 1 day", field="escalation")
        return cls(threshold=settings.escalation_threshold, window_days=settings.escalation_window_days)


@dataclass(frozen=True)
class _Pattern:
    rule: EscalationRule
    key: str
    subject: str
    failure_ids: tuple[int, ...]


def _window(rows: Iterable[tuple[str, str, int]], threshold: int) -> dict[tuple[str, str], list[int]]:
    grouped: dict[tuple[str, str], list[int]] = defaultdict(list)
    for key, subject, failure_id in rows:
        grouped[(key, subject)].append(failure_id)
    return {k: sorted(set(v)) for k, v in grouped.items() if len(set(v)) >= threshold}


def find_patterns(
    session: Session, *, now: dt.datetime, policy: EscalationPolicy, viewer: Actor
) -> list[_Pattern]:
    require_actor(viewer)
    since = now - dt.timedelta(days=policy.window_days)
    in_window = (Failure.detected_at >= since, Failure.detected_at <= now)
    patterns: list[_Pattern] = []

    label_rows = session.execute(
        select(FailureLabel.label, FailureLabel.failure_id)
        .join(Failure, Failure.id == FailureLabel.failure_id)
        .where(*in_window)
    ).all()
    by_label = _window(
        ((lbl.lower(), lbl, fid) for lbl, fid in label_rows if lbl.lower() not in NON_CAUSES),
        policy.threshold,
    )
    patterns += [
        _Pattern(EscalationRule.label, k, f"cause label “{s}”", tuple(ids))
        for (k, s), ids in by_label.items()
    ]

    assumption_rows = session.execute(
        select(Assumption.id, Assumption.statement, Review.failure_id)
        .join(review_assumptions, review_assumptions.c.assumption_id == Assumption.id)
        .join(Review, Review.id == review_assumptions.c.review_id)
        .join(Failure, Failure.id == Review.failure_id)
        .where(Assumption.status == AssumptionStatus.failed.value, *in_window)
    ).all()
    by_assumption = _window(((str(aid), stmt, fid) for aid, stmt, fid in assumption_rows), policy.threshold)
    patterns += [
        _Pattern(EscalationRule.assumption, k, f"failed assumption “{s}”", tuple(ids))
        for (k, s), ids in by_assumption.items()
    ]

    team_rows = session.execute(
        select(Failure.team_id, Failure.id).where(
            Failure.repeat_of_id.is_not(None), Failure.team_id.is_not(None), *in_window
        )
    ).all()
    by_team = _window(((str(tid), str(tid), fid) for tid, fid in team_rows), policy.threshold)
    patterns += [_Pattern(EscalationRule.team, k, "team", tuple(ids)) for (k, _s), ids in by_team.items()]
    return patterns


def recommend_route(
    session: Session, failures: Sequence[Failure], *, viewer: Actor
) -> tuple[SupportRoute, str]:
    """Pick the seed's support route from what the failures have in common, with the reason."""
    require_actor(viewer)
    texts = [" ".join([f.title, f.observation, f.impact, *f.labels]) for f in failures]
    if any(_HR.search(t) for t in texts):
        return SupportRoute.hr_partner, "the pattern touches performance reviews, promotions or legal risk"
    high = [f for f in failures if f.severity in (Severity.high.value, Severity.critical.value)]
    if len(high) >= 2:
        ids = [f.id for f in high]
        people = Counter(
            pid
            for (pid,) in session.execute(
                select(failure_people.c.person_id).where(failure_people.c.failure_id.in_(ids))
            )
        )
        repeated = [pid for pid, n in people.items() if n >= 2]
        if repeated:
            return SupportRoute.employee_assistance, (
                f"the same {'person was' if len(repeated) == 1 else 'people were'} involved in "
                f"{max(people.values())} high-stakes failures: watch for stress or impairment"
            )
    handoffs = sum(1 for f in failures if f.kind == FailureKind.handoff_breakdown.value)
    if handoffs * 2 >= len(failures) or sum(1 for t in texts if _COMMS.search(t)) * 2 >= len(failures):
        return (
            SupportRoute.leadership_coach,
            "most of these failures are communication or hand-off breakdowns",
        )
    return SupportRoute.od_specialist, "recurring failures with one cause point at systemic process design"


def _team_of(failures: Sequence[Failure]) -> int | None:
    teams = {f.team_id for f in failures if f.team_id is not None}
    return teams.pop() if len(teams) == 1 else None


def _lead_of(session: Session, team_id: int | None) -> int | None:
    if team_id is None:
        return None
    return session.scalar(
        select(Membership.person_id)
        .where(Membership.team_id == team_id, Membership.role.in_([Role.lead.value, Role.admin.value]))
        .order_by(Membership.role.desc(), Membership.id)
        .limit(1)
    )


def check_escalations(
    session: Session, *, now: dt.datetime | None = None, policy: EscalationPolicy | None = None, viewer: Actor
) -> list[Escalation]:
    """Open (or extend) escalations for every pattern in the window. Returns the new or grown ones."""
    require_actor(viewer)
    now = now or utcnow()
    policy = policy or EscalationPolicy()
    touched: list[Escalation] = []
    for pattern in find_patterns(session, now=now, policy=policy, viewer=viewer):
        existing = list(
            session.scalars(
                select(Escalation)
                .where(Escalation.rule == pattern.rule.value, Escalation.subject_key == pattern.key)
                .order_by(Escalation.id.desc())
            )
        )
        active = next((e for e in existing if e.status != EscalationStatus.resolved.value), None)
        if active is not None:
            grown = sorted(set(active.failure_ids) | set(pattern.failure_ids))
            if grown != sorted(active.failure_ids):
                active.failure_ids = grown
                active.count = len(grown)
                active.explanation = _explain(
                    session, pattern, grown, policy, active.support_route, viewer=viewer
                )
                touched.append(active)
            continue
        resolved_ids = {fid for e in existing for fid in e.failure_ids}
        fresh = [fid for fid in pattern.failure_ids if fid not in resolved_ids]
        if existing and len(fresh) < policy.threshold:
            continue  # already handled; a new escalation needs a new run of repeats
        failures = list(session.scalars(select(Failure).where(Failure.id.in_(pattern.failure_ids))))
        route, _why = recommend_route(session, failures, viewer=viewer)
        team_id = _team_of(failures) if pattern.rule != EscalationRule.team else int(pattern.key)
        subject = pattern.subject
        if pattern.rule == EscalationRule.team:
            subject = (
                f"team “{failures[0].team.name if failures[0].team else pattern.key}” repeating failures"
            )
        escalation = Escalation(
            rule=pattern.rule.value,
            subject_key=pattern.key,
            subject=subject,
            team_id=team_id,
            owner_id=_lead_of(session, team_id),
            status=EscalationStatus.open.value,
            support_route=route.value,
            failure_ids=list(pattern.failure_ids),
            count=len(pattern.failure_ids),
            window_days=policy.window_days,
            explanation="",
            opened_at=now,
        )
        escalation.explanation = _explain(
            session, pattern, list(pattern.failure_ids), policy, route.value, viewer=viewer
        )
        session.add(escalation)
        touched.append(escalation)
    session.flush()
    return touched


def _explain(
    session: Session,
    pattern: _Pattern,
    ids: Sequence[int],
    policy: EscalationPolicy,
    route: str,
    *,
    viewer: Actor,
) -> str:
    failures = list(session.scalars(select(Failure).where(Failure.id.in_(ids)).order_by(Failure.detected_at)))
    _route, why = recommend_route(session, failures, viewer=viewer)
    listed = "; ".join(f"#{f.id} {f.detected_at:%Y-%m-%d} {f.title}" for f in failures)
    subject = pattern.subject if pattern.rule != EscalationRule.team else "confirmed repeats in one team"
    return (
        f"{len(failures)} failures with {subject} within {policy.window_days} days "
        f"(threshold {policy.threshold}): {listed}. Recommended support: "
        f"{ROUTE_LABELS[SupportRoute(route)]}, because {why}."
    )


def list_escalations(
    session: Session, *, status: str | None = None, team_id: int | None = None, viewer: Actor
) -> list[Escalation]:
    """Escalations, the newest first. An escalation names its failures, so a ``viewer`` sees only
    those whose every failure they may see (``access.policy.can_see_escalation``)."""
    stmt = select(Escalation).order_by(Escalation.opened_at.desc(), Escalation.id.desc())
    if status:
        stmt = stmt.where(Escalation.status == as_enum(status, EscalationStatus, "status").value)
    if team_id is not None:
        stmt = stmt.where(Escalation.team_id == team_id)
    found = list(session.scalars(stmt))
    return found if is_system(viewer) else visible_escalations(session, found, viewer)


def visible_escalations(
    session: Session, escalations: Iterable[Escalation], viewer: Actor
) -> list[Escalation]:
    return [e for e in escalations if is_system(viewer) or can_see_escalation(session, viewer, e)]


def get_escalation(session: Session, escalation_id: int | str, *, viewer: Actor) -> Escalation:
    escalation = get_or_404(session, Escalation, escalation_id)
    if is_person(viewer) and not can_see_escalation(session, viewer, escalation):
        raise not_found(escalation)
    return escalation


def may_change_escalation(viewer: Viewer, escalation: Escalation) -> bool:
    """Its owner, a lead or admin of its team, or an org admin (the pages offer the form to these)."""
    return bool(
        viewer.is_admin
        or escalation.owner_id == viewer.person_id
        or viewer.role_in(escalation.team_id) in EDITING_ROLES
    )


def update_escalation(
    session: Session,
    escalation_id: int | str,
    *,
    status: str | None = None,
    owner: PersonRef | None = None,
    resolution: str | None = None,
    viewer: Actor,
) -> Escalation:
    """Acknowledge, resolve or re-assign. With a ``viewer``: someone who may see it and is an org
    admin, its owner, or a lead or admin of its team."""
    escalation = get_escalation(session, escalation_id, viewer=viewer)
    if is_person(viewer) and not may_change_escalation(viewer, escalation):
        raise PermissionDenied(
            "only the escalation's owner, a lead or admin of its team, or an org admin may change it",
            field="escalation",
        )
    if owner not in (None, ""):
        escalation.owner = get_person(session, owner, field="owner", viewer=viewer)
    if status:
        target = as_enum(status, EscalationStatus, "status")
        if escalation.status == EscalationStatus.resolved.value:
            raise Conflict(f"escalation {escalation.id} is resolved already", field="status")
        if target == EscalationStatus.resolved:
            escalation.resolution = as_text(resolution, "resolution", required=True)
            escalation.resolved_at = utcnow()
        escalation.status = target.value
    session.flush()
    return escalation
