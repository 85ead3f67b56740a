"""Escalation: one pattern — a cause label, a failed assumption, or a chain of repeats — that
happened N times in D days.

Defaults come from the seed: 3 times in 90 days. A check looks at the trailing window ending
``now``: escalation is about patterns that persist *now* (old, closed history does not page
anyone); logging a failure (API, CLI, page: ``signals.observe.log_and_observe``) runs it, and so
does the worker daily.

* One escalation is one pattern: its failures are exactly those sharing the pattern, and its
  reason names the pattern ("3 failures with cause label 'config' in 90 days", "a chain of 3
  repeats starting at #12"). A failure that does not share it never joins.
* The route follows from the pattern, never from words in its texts: the gap type of the
  pattern's reviews. Mostly skill gaps, all involving one person: a leadership coach or mentor,
  private to that person, their lead and org admins. Otherwise (process, context, resourcing,
  not reviewed yet): an organisational-development specialist. HR and employee assistance are
  only chosen by a lead or admin, with a reason (:func:`update_escalation`).
* Every escalation has an owner — the team's lead, else its admins, else the org admins (a
  pattern across teams: the org admins) — who is told when it opens and each time it grows.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Select, func, inspect, or_, select
from sqlalchemy.orm import Session, aliased, defer
from sqlalchemy.orm.attributes import set_committed_value

from lessonloop import limits
from lessonloop.access.actor import Actor, is_person, is_system, require_actor
from lessonloop.access.policy import (
    EDITING_ROLES,
    can_see_escalation,
    escalation_audiences,
    escalations_seen,
)
from lessonloop.access.scope import not_found
from lessonloop.access.viewer import Viewer, viewer_for, viewers_for
from lessonloop.accounts.models import Account
from lessonloop.coerce import as_enum, as_text
from lessonloop.errors import Conflict, Invalid, PermissionDenied
from lessonloop.escalations.models import (
    CHOSEN_ROUTES,
    ROUTE_LABELS,
    Escalation,
    EscalationRule,
    EscalationStatus,
    SupportRoute,
)
from lessonloop.failures.models import Failure, FailureLabel, failure_people
from lessonloop.notifications.models import Notification
from lessonloop.notifications.service import enqueue
from lessonloop.people.models import Membership, Person, Role
from lessonloop.people.service import PersonRef, get_person
from lessonloop.reviews.models import Assumption, AssumptionStatus, GapType, Review, review_assumptions
from lessonloop.settings import Settings
from lessonloop.store.base import utcnow
from lessonloop.store.crud import get_or_404, rows_in, scalars_in

# Labels that say "no cause known": they never form a pattern.
NON_CAUSES = frozenset({"uncategorized", "unknown", "other", ""})


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
    key: str  # the lower-cased label, the assumption's id, the chain's first failure's id
    name: str  # label text, assumption statement, first failure's id
    failure_ids: tuple[int, ...]


def _window(rows: Iterable[tuple[str, str, int]], threshold: int) -> dict[tuple[str, str], list[int]]:
    grouped: dict[str, set[int]] = defaultdict(set)
    names: dict[str, str] = {}
    for key, name, failure_id in rows:
        grouped[key].add(failure_id)
        names.setdefault(key, name)
    return {(k, names[k]): sorted(v) for k, v in grouped.items() if len(v) >= threshold}


class _Chains:
    """Failures linked as confirmed repeats (``Failure.repeat_of_id``) form trees; a chain is one
    tree, named by its first failure (the one that repeats nothing)."""

    def __init__(self, session: Session) -> None:
        self.parent: dict[int, int] = {
            fid: pid
            for fid, pid in session.execute(
                select(Failure.id, Failure.repeat_of_id).where(Failure.repeat_of_id.is_not(None))
            )
            if pid is not None
        }

    def root(self, failure_id: int) -> int:
        seen = {failure_id}
        while failure_id in self.parent and self.parent[failure_id] not in seen:
            failure_id = self.parent[failure_id]
            seen.add(failure_id)
        return failure_id


def find_patterns(
    session: Session, *, now: dt.datetime, policy: EscalationPolicy, viewer: Actor
) -> list[_Pattern]:
    """Every pattern that reached the threshold in the window ending ``now``."""
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
    patterns += [_Pattern(EscalationRule.label, k, n, tuple(ids)) for (k, n), ids in by_label.items()]

    assumption_rows = session.execute(
        select(Assumption.id, Assumption.statement, Review.failure_id)
        .join(review_assumptions, review_assumptions.c.assumption_id == Assumption.id)
        .join(Review, Review.id == review_assumptions.c.review_id)
        .join(Failure, Failure.id == Review.failure_id)
        .where(Assumption.status == AssumptionStatus.failed.value, *in_window)
    ).all()
    by_assumption = _window(((str(aid), stmt, fid) for aid, stmt, fid in assumption_rows), policy.threshold)
    patterns += [
        _Pattern(EscalationRule.assumption, k, n, tuple(ids)) for (k, n), ids in by_assumption.items()
    ]

    chains = _Chains(session)
    earlier = aliased(Failure)
    linked = session.scalars(
        select(Failure.id).where(
            *in_window,
            or_(
                Failure.repeat_of_id.is_not(None),
                Failure.id.in_(select(earlier.repeat_of_id).where(earlier.repeat_of_id.is_not(None))),
            ),
        )
    ).all()
    by_chain = _window(((str(chains.root(fid)), "", fid) for fid in linked), policy.threshold)
    for (key, _n), ids in by_chain.items():
        # The chain is named by its first failure: it belongs to the pattern even before the window.
        patterns.append(_Pattern(EscalationRule.chain, key, key, tuple(sorted({int(key), *ids}))))
    return patterns


def _members(session: Session, rule: str, key: str, ids: Sequence[int]) -> set[int]:
    """Those of ``ids`` that (still) share the pattern ``rule``/``key``, at any time."""
    if not ids:
        return set()
    if rule == EscalationRule.label.value:
        return set(
            scalars_in(
                session,
                lambda among: select(FailureLabel.failure_id).where(
                    among(FailureLabel.failure_id), func.lower(FailureLabel.label) == key
                ),
                ids,
            )
        )
    if rule == EscalationRule.assumption.value:
        return set(
            scalars_in(
                session,
                lambda among: (
                    select(Review.failure_id)
                    .join(review_assumptions, review_assumptions.c.review_id == Review.id)
                    .join(Assumption, Assumption.id == review_assumptions.c.assumption_id)
                    .where(
                        among(Review.failure_id),
                        Assumption.id == int(key),
                        Assumption.status == AssumptionStatus.failed.value,
                    )
                ),
                ids,
            )
        )
    if rule == EscalationRule.chain.value:
        chains = _Chains(session)
        return {fid for fid in ids if chains.root(fid) == int(key)}
    return set(ids)  # the retired "team" rule: left as it was


def _reason(rule: str, key: str, name: str, count: int, policy: EscalationPolicy) -> str:
    """The pattern, named truthfully."""
    within = f"in {policy.window_days} days"
    if rule == EscalationRule.label.value:
        return f"{count} failures with cause label '{name}' {within}"
    if rule == EscalationRule.assumption.value:
        return f"{count} failures whose reviews found the assumption '{name}' failed {within}"
    if rule == EscalationRule.chain.value:
        return f"a chain of {count} repeats starting at #{key} {within}"
    return f"{count} confirmed repeats in one team {within}"


def _subject(rule: str, key: str, name: str) -> str:
    if rule == EscalationRule.label.value:
        return f"cause label '{name}'"
    if rule == EscalationRule.assumption.value:
        return f"failed assumption '{name}'"
    return f"chain of repeats starting at #{key}"


@dataclass(frozen=True)
class RouteChoice:
    route: SupportRoute
    why: str
    person_id: int | None = None  # a skill pattern of one person: the escalation is private to them


def recommend_route(session: Session, failures: Sequence[Failure], *, viewer: Actor) -> RouteChoice:
    """The support route from the pattern itself — the gap type its reviews name, and who was
    involved — never from words in titles or impact texts.

    Most of its failures reviewed as skill gaps, every one of those involving the same single
    person: a leadership coach or mentor for that person. Anything else (process, context or
    resourcing gaps, skill gaps spread over several people, failures not reviewed yet): an
    organisational-development specialist (process and context design)."""
    require_actor(viewer)
    ids = [f.id for f in failures]
    gaps = dict(
        rows_in(
            session,
            lambda among: select(Review.failure_id, Review.gap_type).where(among(Review.failure_id)),
            ids,
        )
    )
    skill = [fid for fid in ids if gaps.get(fid) == GapType.skill.value]
    if len(skill) * 2 > len(ids):
        involved: dict[int, set[int]] = defaultdict(set)
        for fid, pid in rows_in(
            session,
            lambda among: select(failure_people.c.failure_id, failure_people.c.person_id).where(
                among(failure_people.c.failure_id)
            ),
            skill,
        ):
            involved[fid].add(pid)
        common = set.intersection(*(involved[fid] for fid in skill))
        if len(common) == 1:
            return RouteChoice(
                SupportRoute.leadership_coach,
                f"{len(skill)} of its {len(ids)} failures were reviewed as skill gaps, all involving "
                "the same person (private to them, their lead and org admins)",
                person_id=common.pop(),
            )
    counts: dict[str, int] = defaultdict(int)
    for fid in ids:
        counts[gaps.get(fid) or "not reviewed"] += 1
    named = ", ".join(f"{n} {gap}" for gap, n in sorted(counts.items()))
    return RouteChoice(
        SupportRoute.od_specialist,
        f"the gap is in process or context, not one person's skill (gap types: {named})",
    )


def _team_of(failures: Sequence[Failure]) -> int | None:
    """The one team of all the pattern's failures; ``None`` across teams (or with no team)."""
    teams = {f.team_id for f in failures}
    return teams.pop() if len(teams) == 1 else None


def choose_owner(
    session: Session, team_id: int | None, *, not_person: int | None = None, viewer: Actor
) -> int | None:
    """The team's lead, else its admins, else the org admins (the earliest appointed of each);
    a pattern across teams goes to the org admins. ``not_person``: never the person it is about."""
    require_actor(viewer)
    others = [] if not_person is None else [Membership.person_id != not_person]
    if team_id is not None:
        for role in (Role.lead, Role.admin):
            found = session.scalar(
                select(Membership.person_id)
                .where(Membership.team_id == team_id, Membership.role == role.value, *others)
                .order_by(Membership.id)
                .limit(1)
            )
            if found is not None:
                return found
    admins = [] if not_person is None else [Account.person_id != not_person]
    return session.scalar(
        select(Account.person_id).where(Account.is_admin.is_(True), *admins).order_by(Account.id).limit(1)
    )


def notify_owner(
    session: Session,
    escalation: Escalation,
    *,
    joined: Sequence[int] = (),
    now: dt.datetime | None = None,
    viewer: Actor,
) -> Notification | None:
    """Tell the owner that ``escalation`` opened (``joined`` empty) or grew (by ``joined``), once
    per event. The notice names the pattern and never a failure's title (issue #11); an owner who
    may not see the escalation is told only that it needs them."""
    require_actor(viewer)
    if escalation.owner_id is None:
        return None
    event = "opened" if not joined else "grew"
    if can_see_escalation(session, viewer_for(session, escalation.owner_id), escalation):
        subject = f"Escalation #{escalation.id} {event}: {escalation.subject}"
        body = (
            f"{escalation.explanation}\n\nYou own it: acknowledge or resolve it on /insights "
            f"(lessonloop escalations update {escalation.id})."
        )
    else:
        subject = f"Escalation #{escalation.id} needs its owner"
        body = (
            f"Escalation #{escalation.id} {event}, and you own it, but it names failures you may not "
            "see. Ask a lead of the team involved to review it with you, or to take it over."
        )
    key = (
        f"escalation:{escalation.id}:opened"
        if not joined
        else f"escalation:{escalation.id}:grew:{max(joined)}"
    )
    return enqueue(
        session,
        person_id=escalation.owner_id,
        kind="escalation",
        subject=subject,
        body_text=body,
        dedupe_key=key,
        now=now,
        viewer=viewer,
    )


def _explain(escalation: Escalation, policy: EscalationPolicy, name: str) -> str:
    reason = _reason(escalation.rule, escalation.subject_key, name, len(escalation.failure_ids), policy)
    route = SupportRoute(escalation.support_route)
    return (
        f"{reason} (threshold {policy.threshold}). Recommended support: {ROUTE_LABELS[route]}, "
        f"because {escalation.route_reason}."
    )


def check_escalations(
    session: Session, *, now: dt.datetime | None = None, policy: EscalationPolicy | None = None, viewer: Actor
) -> list[Escalation]:
    """Open (or grow) escalations for every pattern in the window, and tell their owners.
    Returns the new and grown ones."""
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
            kept = _members(session, active.rule, active.subject_key, active.failure_ids)
            grown = sorted(kept | set(pattern.failure_ids))
            joined = sorted(set(pattern.failure_ids) - set(active.failure_ids))
            if grown != sorted(active.failure_ids):
                active.failure_ids = grown
                active.count = len(grown)
                active.explanation = _explain(active, policy, pattern.name)
                session.flush()
                if joined:
                    notify_owner(session, active, joined=joined, now=now, viewer=viewer)
                    touched.append(active)
            continue
        resolved_ids = {fid for e in existing for fid in e.failure_ids}
        fresh = [fid for fid in pattern.failure_ids if fid not in resolved_ids]
        if existing and len(fresh) < policy.threshold:
            continue  # already handled; a new escalation needs a new run of the pattern
        failures = scalars_in(
            session, lambda among: select(Failure).where(among(Failure.id)), pattern.failure_ids
        )
        choice = recommend_route(session, failures, viewer=viewer)
        team_id = _team_of(failures)
        escalation = Escalation(
            rule=pattern.rule.value,
            subject_key=pattern.key,
            subject=_subject(pattern.rule.value, pattern.key, pattern.name),
            team_id=team_id,
            owner_id=choose_owner(session, team_id, not_person=choice.person_id, viewer=viewer),
            status=EscalationStatus.open.value,
            support_route=choice.route.value,
            route_reason=choice.why,
            person_id=choice.person_id,
            failure_ids=list(pattern.failure_ids),
            count=len(pattern.failure_ids),
            window_days=policy.window_days,
            explanation="",
            opened_at=now,
        )
        escalation.explanation = _explain(escalation, policy, pattern.name)
        session.add(escalation)
        session.flush()
        notify_owner(session, escalation, now=now, viewer=viewer)
        touched.append(escalation)
    session.flush()
    return touched


def _escalations(status: str | None, team_id: int | None) -> Select[Escalation]:
    stmt = select(Escalation).order_by(Escalation.opened_at.desc(), Escalation.id.desc())
    if status:
        stmt = stmt.where(Escalation.status == as_enum(status, EscalationStatus, "status").value)
    if team_id is not None:
        stmt = stmt.where(Escalation.team_id == team_id)
    return stmt


def list_escalations(
    session: Session, *, status: str | None = None, team_id: int | None = None, viewer: Actor
) -> list[Escalation]:
    """Escalations, the newest first. An escalation names its failures, so a ``viewer`` sees only
    those whose every failure they may see (``access.policy.can_see_escalation``)."""
    found = list(session.scalars(_escalations(status, team_id)))
    return found if is_system(viewer) else visible_escalations(session, found, viewer)


ESCALATIONS_PER_PAGE = 20
PAGE_BATCH = 25  # escalations read (and checked) in the first round while filling a page; doubles


@dataclass(frozen=True)
class EscalationPage:
    items: list[Escalation]
    page: int
    per_page: int
    has_more: bool


def escalations_page(
    session: Session,
    *,
    page: int = 1,
    per_page: int = ESCALATIONS_PER_PAGE,
    status: str | None = None,
    team_id: int | None = None,
    viewer: Actor,
) -> EscalationPage:
    """Page ``page`` (from 1) of :func:`list_escalations`: the same escalations in the same
    order, ``per_page`` at a time, and whether there are more. Escalations are read a batch at a
    time (25, then twice as many each round) and the rule is checked for those only, stopping once the page and one more are found
    (decision 66): the rule reads every failure an escalation names, and checking all of them
    for one page took seconds once an organisation had hundreds of escalations."""
    require_actor(viewer)
    if page < 1:
        raise Invalid(f"page must be 1 or more, not {page}")
    if per_page < 1:
        raise Invalid(f"per_page must be 1 or more, not {per_page}")
    stmt = _escalations(status, team_id)
    skip = (page - 1) * per_page
    wanted = skip + per_page + 1  # the page, what comes before it, and one to know if there is more
    if is_system(viewer):
        found = list(session.scalars(stmt.offset(skip).limit(per_page + 1)))
    else:
        seen: list[Escalation] = []
        offset, size = 0, PAGE_BATCH
        # The rounds read every escalation up to the page without its list of failures (the
        # database checks those): at 1M failures 736 escalations named 255,350, and decoding
        # them was a third of the insights page. The page's own lists are read below.
        scan = stmt.options(defer(Escalation.failure_ids))
        while len(seen) < wanted:
            batch = list(session.scalars(scan.offset(offset).limit(size)))
            seen += visible_escalations(session, batch, viewer)
            if len(batch) < size:
                break
            # doubling: a person who sees few of many escalations reads them in a few rounds
            offset, size = offset + size, size * 2
        found = seen[skip:wanted]
        _load_failure_ids(session, found[:per_page])
    return EscalationPage(
        items=found[:per_page], page=page, per_page=per_page, has_more=len(found) > per_page
    )


def _load_failure_ids(session: Session, escalations: list[Escalation]) -> None:
    """Read the failure lists of ``escalations`` loaded without them, in one statement."""
    unloaded = {e.id: e for e in escalations if "failure_ids" in inspect(e).unloaded}
    listed = select(Escalation.id, Escalation.failure_ids)
    for eid, failure_ids in rows_in(
        session, lambda among: listed.where(among(Escalation.id)), list(unloaded)
    ):
        set_committed_value(unloaded[eid], "failure_ids", failure_ids)


def visible_escalations(
    session: Session, escalations: Iterable[Escalation], viewer: Actor
) -> list[Escalation]:
    found = list(escalations)
    return found if is_system(viewer) else escalations_seen(session, viewer, found)


def get_escalation(session: Session, escalation_id: int | str, *, viewer: Actor) -> Escalation:
    escalation = get_or_404(session, Escalation, escalation_id)
    if is_person(viewer) and not can_see_escalation(session, viewer, escalation):
        raise not_found(escalation)
    return escalation


def possible_owners(session: Session, escalation_id: int | str, *, viewer: Actor) -> list[Person]:
    """The people who may see the escalation, by name: whom it may be handed to (an owner must
    be able to read what they own). 404 when ``viewer`` may not see it."""
    escalation = get_escalation(session, escalation_id, viewer=viewer)
    return owner_choices(session, [escalation], viewer=viewer)[escalation.id]


def owner_choices(
    session: Session, escalations: Sequence[Escalation], *, viewer: Actor
) -> dict[int, list[Person]]:
    """:func:`possible_owners` for several escalations at once (a page of them), keyed by id,
    for those ``viewer`` may see: the people and their rules are read once for all of them
    (decision 66), not once per escalation."""
    require_actor(viewer)
    shown = list(escalations) if is_system(viewer) else escalations_seen(session, viewer, escalations)
    if not shown:
        return {}
    people = list(session.scalars(select(Person).order_by(Person.name, Person.id)))
    viewers = viewers_for(session, people)
    out: dict[int, list[Person]] = {}
    for eid, audience in escalation_audiences(session, shown, viewers).items():
        ids = {v.person_id for v in audience}
        out[eid] = [p for p in people if p.id in ids]
    return out


def may_change_escalation(viewer: Viewer, escalation: Escalation) -> bool:
    """Its owner, a lead or admin of its team, or an org admin (the pages offer the form to these)."""
    return bool(
        viewer.is_admin
        or escalation.owner_id == viewer.person_id
        or viewer.role_in(escalation.team_id) in EDITING_ROLES
    )


def may_choose_route(viewer: Viewer, escalation: Escalation) -> bool:
    """HR / employee assistance: a lead or admin of its team, or an org admin (not a mere owner)."""
    return bool(viewer.is_admin or viewer.role_in(escalation.team_id) in EDITING_ROLES)


def update_escalation(
    session: Session,
    escalation_id: int | str,
    *,
    status: str | None = None,
    owner: PersonRef | None = None,
    resolution: str | None = None,
    support_route: str | None = None,
    reason: str | None = None,
    person: PersonRef | None = None,
    viewer: Actor,
) -> Escalation:
    """Acknowledge, resolve, re-assign, or choose HR / employee assistance. With a ``viewer``:
    someone who may see it and is an org admin, its owner, or a lead or admin of its team.

    Choosing ``hr-business-partner`` or ``employee-assistance`` takes a lead or admin of its team
    or an org admin, a ``reason``, and the person it concerns (``person``, or the one a private
    escalation is already about). From then on only that person, the one who chose and org admins
    see it (``access.policy.in_escalation_audience``), and the one who chose owns it. The other
    routes follow from the pattern and are not chosen."""
    escalation = get_escalation(session, escalation_id, viewer=viewer)
    if is_person(viewer) and not may_change_escalation(viewer, escalation):
        raise PermissionDenied(
            "only the escalation's owner, a lead or admin of its team, or an org admin may change it",
            field="escalation",
        )
    if support_route not in (None, ""):
        _choose_route(session, escalation, support_route, reason=reason, person=person, viewer=viewer)
    elif reason not in (None, "") or person not in (None, ""):
        raise Invalid("a reason or a person goes with choosing a support route", field="support_route")
    if owner not in (None, ""):
        new_owner = get_person(session, owner, field="owner", viewer=viewer)
        if not can_see_escalation(session, viewer_for(session, new_owner), escalation):
            raise Invalid(
                f"{new_owner.name} may not see this escalation; choose someone who may", field="owner"
            )
        escalation.owner = new_owner
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


def _choose_route(
    session: Session,
    escalation: Escalation,
    support_route: str,
    *,
    reason: str | None,
    person: PersonRef | None,
    viewer: Actor,
) -> None:
    route = as_enum(support_route, SupportRoute, "support_route")
    if route not in CHOSEN_ROUTES:
        raise Invalid(
            "only hr-business-partner or employee-assistance is chosen; the other routes follow "
            "from the pattern",
            field="support_route",
        )
    if is_person(viewer) and not may_choose_route(viewer, escalation):
        raise PermissionDenied(
            "only a lead or admin of its team, or an org admin, may choose HR or employee assistance",
            field="support_route",
        )
    why = as_text(reason, "reason", required=True, max_len=limits.DESCRIPTION_MAX)
    if person not in (None, ""):
        concerned = get_person(session, person, field="person", viewer=viewer).id
    elif escalation.person_id is not None:
        concerned = escalation.person_id
    else:
        raise Invalid(
            "name the person it concerns: only they, you and org admins will see it", field="person"
        )
    escalation.support_route = route.value
    escalation.route_reason = why
    escalation.person_id = concerned
    if is_person(viewer):
        escalation.chosen_by_id = viewer.person_id
        escalation.owner_id = viewer.person_id
    else:
        escalation.chosen_by_id = None
    head = escalation.explanation.split(" Recommended support:", 1)[0]
    escalation.explanation = f"{head} Chosen support: {ROUTE_LABELS[route]}, because {why}."
