"""The visibility policy: plain predicates on loaded records, and SQL clauses that agree with them.

Every ``can_see_*`` predicate has a ``visible_*_clause`` twin for ``select(X).where(...)``; the
tests check on SQLite and PostgreSQL that both give the same answer for every combination of
viewer and record. Anything but a Viewer (nobody signed in, a system job) sees nothing. The rules are written out as
a table in ``docs/security.md``.

The clauses are two-valued (never SQL ``NULL``), so ``~visible_failures_clause(v)`` is exactly the
set a viewer may *not* see. They alias every link table they use, so they can be combined with
queries that join the same tables.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Collection, Sequence
from types import MappingProxyType
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Text,
    and_,
    case,
    cast,
    false,
    func,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session, aliased

from lessonloop.access.actor import SystemActor
from lessonloop.access.viewer import RuleKey, Viewer
from lessonloop.actions.models import Action
from lessonloop.coaching.models import CoachingNote, DevelopmentPlan
from lessonloop.errors import PermissionDenied
from lessonloop.escalations.models import CHOSEN_ROUTES, Escalation
from lessonloop.experiments.models import Experiment, Observation
from lessonloop.failures.models import Failure, Visibility, failure_people
from lessonloop.lessons.models import Lesson, lesson_audience, lesson_failures
from lessonloop.people.models import Person, Role, Team
from lessonloop.reviews.models import Assumption, Review, review_assumptions
from lessonloop.store.crud import id_among, ids_per_statement, in_chunks, rows_in

#: What the predicates accept. Only a :class:`Viewer` (a signed-in person) is ever granted
#: anything here; ``None`` (nobody signed in) and a :class:`SystemActor` see nothing. A system job
#: is let through by :mod:`lessonloop.access.scope` *before* the policy is asked, never by it.
Anyone = Viewer | SystemActor | None

# Team roles that may edit a team's failures (the org-wide admin flag is separate).
EDITING_ROLES = frozenset({Role.lead.value, Role.admin.value})


# -- failures -----------------------------------------------------------------------------------


def is_own_failure(viewer: Viewer, failure: Failure) -> bool:
    """The viewer reported the failure or is one of the people involved."""
    return failure.reporter_id == viewer.person_id or any(p.id == viewer.person_id for p in failure.people)


def can_see_failure(viewer: Anyone, failure: Failure) -> bool:
    """May ``viewer`` see this failure (and so its review, actions and experiments)?

    * ``org``: everyone signed in.
    * ``team``: members of the failure's team in any role, org admins, the reporter and the
      people involved. A ``team`` failure with no team is seen by everyone signed in: there is no
      narrower group to show it to.
    * ``private``: the people involved, the reporter and the *leads* of the failure's team —
      not org admins, not team-role admins, not other members.

    Reads ``failure.reporter_id``, ``team_id`` and ``people``: flush a new failure first.
    Unknown visibility values are treated as invisible.
    """
    if not isinstance(viewer, Viewer):
        return False
    visibility = failure.visibility
    if visibility == Visibility.org.value:
        return True
    if visibility == Visibility.team.value:
        return (
            is_own_failure(viewer, failure)
            or viewer.is_admin
            or failure.team_id is None
            or failure.team_id in viewer.roles
        )
    if visibility == Visibility.private.value:
        return is_own_failure(viewer, failure) or viewer.role_in(failure.team_id) == Role.lead.value
    return False


def can_edit_failure(viewer: Anyone, failure: Failure) -> bool:
    """May ``viewer`` change the failure (and write its review and actions)?

    The reporter, the people involved, leads and team-role admins of the failure's team, and org
    admins unless the failure is private. Nobody may edit what they may not see, so a
    team-role admin cannot edit a *private* failure of their team.
    """
    if not isinstance(viewer, Viewer) or not can_see_failure(viewer, failure):
        return False
    if is_own_failure(viewer, failure):
        return True
    if viewer.role_in(failure.team_id) in EDITING_ROLES:
        return True
    return viewer.is_admin and failure.visibility != Visibility.private.value


def visible_failures_clause(viewer: Anyone, failure: Any = Failure) -> ColumnElement[bool]:
    """The SQL twin of :func:`can_see_failure`: ``select(Failure).where(visible_failures_clause(v))``.

    ``failure`` may be an :func:`~sqlalchemy.orm.aliased` ``Failure`` to filter an alias.
    """
    if not isinstance(viewer, Viewer):
        return false()
    if failure is Failure:
        return _visible_failures_kept(viewer.rule_key())
    return _visible_failures(viewer, failure)


@functools.lru_cache(maxsize=512)
def _visible_failures_kept(key: RuleKey) -> ColumnElement[bool]:
    """The clause on ``Failure`` itself, built once per rule key (decision 67). SQLAlchemy's
    expressions are immutable, so one serves every statement and thread; building it (and the
    aliased ones below) cost 1–5 ms a time, and the insights page built a dozen."""
    return _visible_failures(Viewer.from_rule_key(key), Failure)


def _visible_failures(viewer: Viewer, failure: Any) -> ColumnElement[bool]:
    pid = viewer.person_id
    fp = failure_people.alias()
    # Uncorrelated: the viewer's own failure ids are looked up once per statement (an ephemeral
    # set on SQLite, a hashed subplan on PostgreSQL), not once per failure row.
    involved = failure.id.in_(select(fp.c.failure_id).where(fp.c.person_id == pid))
    own = or_(and_(failure.reporter_id.is_not(None), failure.reporter_id == pid), involved)
    member_teams = viewer.teams()
    lead_teams = viewer.teams_with_role(Role.lead)
    in_member_team = (
        and_(failure.team_id.is_not(None), failure.team_id.in_(member_teams)) if member_teams else false()
    )
    in_lead_team = (
        and_(failure.team_id.is_not(None), failure.team_id.in_(lead_teams)) if lead_teams else false()
    )
    team_rule = or_(own, true() if viewer.is_admin else false(), failure.team_id.is_(None), in_member_team)
    return or_(
        failure.visibility == Visibility.org.value,
        and_(failure.visibility == Visibility.team.value, team_rule),
        and_(failure.visibility == Visibility.private.value, or_(own, in_lead_team)),
    )


def visible_failure_ids(viewer: Anyone) -> Any:
    """``SELECT failures.id`` the viewer may see, for ``X.failure_id.in_(...)`` (kept per rule key)."""
    if not isinstance(viewer, Viewer):
        return select(Failure.id).where(false())
    return _visible_failure_ids(viewer.rule_key())


@functools.lru_cache(maxsize=512)
def _visible_failure_ids(key: RuleKey) -> Any:
    f = aliased(Failure)
    return select(f.id).where(_visible_failures(Viewer.from_rule_key(key), f))


# -- records that inherit a failure's visibility ------------------------------------------------


def visible_reviews_clause(viewer: Anyone, review: Any = Review) -> ColumnElement[bool]:
    return review.failure_id.in_(visible_failure_ids(viewer)) if isinstance(viewer, Viewer) else false()


def visible_actions_clause(viewer: Anyone, action: Any = Action) -> ColumnElement[bool]:
    return action.failure_id.in_(visible_failure_ids(viewer)) if isinstance(viewer, Viewer) else false()


def visible_experiments_clause(viewer: Anyone, experiment: Any = Experiment) -> ColumnElement[bool]:
    if not isinstance(viewer, Viewer):
        return false()
    a = aliased(Action)
    return experiment.action_id.in_(select(a.id).where(a.failure_id.in_(visible_failure_ids(viewer))))


def visible_observations_clause(viewer: Anyone, observation: Any = Observation) -> ColumnElement[bool]:
    if not isinstance(viewer, Viewer):
        return false()
    e = aliased(Experiment)
    return observation.experiment_id.in_(select(e.id).where(visible_experiments_clause(viewer, e)))


# -- assumptions --------------------------------------------------------------------------------


def visible_assumptions_clause(viewer: Anyone, assumption: Any = Assumption) -> ColumnElement[bool]:
    """An assumption named in no review is for everyone signed in; one named in reviews is seen by
    whoever may see at least one of those reviews' failures (its statement may say what went wrong).
    """
    if not isinstance(viewer, Viewer):
        return false()
    ra = review_assumptions.alias()
    named = select(ra.c.assumption_id).where(ra.c.assumption_id == assumption.id).exists()
    ra2 = review_assumptions.alias()
    r = aliased(Review)
    seen = (
        select(ra2.c.assumption_id)
        .where(
            ra2.c.assumption_id == assumption.id, ra2.c.review_id == r.id, visible_reviews_clause(viewer, r)
        )
        .exists()
    )
    return or_(~named, seen)


def can_see_assumption(session: Session, viewer: Anyone, assumption: Assumption) -> bool:
    if not isinstance(viewer, Viewer):
        return False
    a = aliased(Assumption)
    stmt = select(a.id).where(a.id == assumption.id, visible_assumptions_clause(viewer, a))
    return session.scalar(stmt) is not None


# -- escalations --------------------------------------------------------------------------------


def in_escalation_audience(viewer: Viewer, escalation: Escalation) -> bool:
    """Who a *private* escalation (one about a person: ``person_id`` set) is for: that person, org
    admins, and — when HR or employee assistance was chosen — the lead or admin who chose it (its
    owner when a system job chose), otherwise (a skill pattern of one person, routed to a coach)
    its owner and the leads of its team. An escalation about no one is not private."""
    if escalation.person_id is None or viewer.is_admin or viewer.person_id == escalation.person_id:
        return True
    if escalation.support_route in CHOSEN_ROUTES:
        chooser = escalation.chosen_by_id if escalation.chosen_by_id is not None else escalation.owner_id
        return viewer.person_id == chooser
    return viewer.person_id == escalation.owner_id or (
        escalation.team_id is not None and viewer.role_in(escalation.team_id) == Role.lead.value
    )


def can_see_escalation(session: Session, viewer: Anyone, escalation: Escalation) -> bool:
    """An escalation lists its failures: it is seen by whoever may see *every* one of them that
    still exists (an org admin is no exception for a private failure) and, when it is about a
    person, is in its audience (:func:`in_escalation_audience`)."""
    if not isinstance(viewer, Viewer):
        return False
    if not in_escalation_audience(viewer, escalation):
        return False
    ids = [int(i) for i in (escalation.failure_ids or []) if isinstance(i, int)]
    if not ids:
        return True
    # One statement per chunk of its failures, asking for one the viewer may not see; the first
    # found answers. ``CASE`` makes the rule two-valued: a row where it is NULL is not seen.
    hidden = _hidden_failures_rule(viewer.rule_key())
    return all(
        session.scalar(select(Failure.id).where(id_among(session, Failure.id, part), hidden).limit(1)) is None
        for part in in_chunks(ids, ids_per_statement(session))
    )


@functools.lru_cache(maxsize=512)
def _hidden_failures_rule(key: RuleKey) -> ColumnElement[bool]:
    """Failures the viewer may *not* see. ``CASE`` makes the rule two-valued: a row where the
    visibility rule is NULL is not seen (``NOT rule`` would drop it from both sides)."""
    return case((_visible_failures_kept(key), 1), else_=0) == 0


def escalations_seen(session: Session, viewer: Anyone, escalations: Sequence[Escalation]) -> list[Escalation]:
    """Of ``escalations``, those :func:`can_see_escalation` lets ``viewer`` see, in their order.

    The database answers for all of them in one statement (decision 67): which of these
    escalations names a failure the viewer may not see, each asked with ``EXISTS`` over its
    stored list (``json_each`` / ``json_array_elements``) joined to the failures by primary key,
    so it stops at the first hidden one. Reading every failure they name into Python (decision
    66) fetched thousands of hidden ids for a member who sees few escalations: 35 ms of their
    insights page at 100k failures."""
    if not isinstance(viewer, Viewer):
        return []
    audience = [e for e in escalations if in_escalation_audience(viewer, e)]
    if not audience:
        return []
    hidden = _names_hidden_failure(session.get_bind().dialect.name, viewer.rule_key())
    blocked: set[int] = set()
    for part in in_chunks([e.id for e in audience], ids_per_statement(session)):
        blocked.update(
            session.scalars(select(Escalation.id).where(id_among(session, Escalation.id, part), hidden))
        )
    return [e for e in audience if e.id not in blocked]


@functools.lru_cache(maxsize=512)
def _names_hidden_failure(dialect: str, key: RuleKey) -> ColumnElement[bool]:
    """The escalation's list names an existing failure the viewer may not see. Only integer
    entries of a list name failures (as :func:`can_see_escalation` reads it); anything but a
    list names none, and is not an error."""
    listed = Escalation.failure_ids
    if dialect == "postgresql":
        as_list = case((func.json_typeof(listed) == "array", listed), else_=literal_column("'[]'::json"))
        element = func.json_array_elements(as_list).table_valued("value").alias("named")
        # CASE: the cast runs only for an element that is a whole number of at most ten digits
        # (ids are 32-bit); anything else names no failure, as in Python.
        as_id = case(
            (
                and_(
                    func.json_typeof(element.c.value) == "number",
                    cast(element.c.value, Text).regexp_match("^[0-9]{1,10}$"),
                ),
                cast(cast(element.c.value, Text), BigInteger),
            ),
            else_=None,
        )
    else:
        as_list = case((func.json_type(listed) == "array", listed), else_=literal_column("'[]'"))
        element = func.json_each(as_list).table_valued("value", "type").alias("named")
        as_id = case((element.c.type == "integer", element.c.value), else_=None)
    return (
        select(Failure.id)
        .select_from(element)
        .join(Failure, Failure.id == as_id)
        .where(_hidden_failures_rule(key))
        .exists()
    )


def escalation_audience(session: Session, escalation: Escalation, viewers: Sequence[Viewer]) -> list[Viewer]:
    """Of ``viewers``, those :func:`can_see_escalation` lets see ``escalation``, answered for all
    of them from one reading of its failures (decision 65): grouped by visibility and team, a
    person passes a group they see whole (the groups of ``failures.counts``) at once and any
    other group only if every failure in it is their own (reported or involved in). Asking
    :func:`can_see_escalation` per person read every failure once per person: for an escalation
    of 70,000 failures and 300 people, minutes."""
    return escalation_audiences(session, [escalation], viewers)[escalation.id]


def escalation_audiences(
    session: Session, escalations: Sequence[Escalation], viewers: Sequence[Viewer]
) -> dict[int, list[Viewer]]:
    """:func:`escalation_audience` for several escalations (a page of them), keyed by id, from one
    reading of the failures they name between them (decision 67: a reading per escalation was
    40 statements of an org admin's insights page)."""
    named = {e.id: [int(i) for i in (e.failure_ids or []) if isinstance(i, int)] for e in escalations}
    ids = sorted({fid for fids in named.values() for fid in fids})
    facts: dict[int, tuple[str, int | None, int | None]] = {}
    columns = select(Failure.id, Failure.visibility, Failure.team_id, Failure.reporter_id)
    for fid, visibility, team_id, reporter_id in rows_in(
        session, lambda among: columns.where(among(Failure.id)), ids
    ):
        facts[fid] = (visibility, team_id, reporter_id)
    involved: dict[int, set[int]] = defaultdict(set)
    not_org = [fid for fid, (visibility, _t, _r) in facts.items() if visibility != Visibility.org.value]
    fp = failure_people
    for fid, pid in rows_in(
        session,
        lambda among: select(fp.c.failure_id, fp.c.person_id).where(among(fp.c.failure_id)),
        sorted(not_org),
    ):
        involved[fid].add(pid)

    org, team, private, lead = (
        Visibility.org.value,
        Visibility.team.value,
        Visibility.private.value,
        Role.lead.value,
    )

    def whole(viewer: Viewer, visibility: str, team_id: int | None) -> bool:
        # visible_failures_clause without its "own" terms
        if visibility == org:
            return True
        if visibility == team:
            return viewer.is_admin or team_id is None or team_id in viewer.roles
        return visibility == private and team_id is not None and viewer.roles.get(team_id) == lead

    def owners_of_all(rows: list[tuple[int, int | None]]) -> set[int]:
        # Who owns (reported or is involved in) every failure of a group: the one way into a
        # group not seen whole. Worked out once per group, not once per person and failure
        # (decision 67: 300 people × a group of thousands was most of an org admin's page).
        common: set[int] | None = None
        for fid, reporter_id in rows:
            mine = set(involved[fid])
            if reporter_id is not None:
                mine.add(reporter_id)
            common = mine if common is None else common & mine
            if not common:
                break
        return common or set()

    out: dict[int, list[Viewer]] = {}
    for escalation in escalations:
        groups: dict[tuple[str, int | None], list[tuple[int, int | None]]] = defaultdict(list)
        for fid in named[escalation.id]:
            if fid in facts:  # a deleted failure hides nothing
                visibility, team_id, reporter_id = facts[fid]
                groups[(visibility, team_id)].append((fid, reporter_id))
        owners: dict[tuple[str, int | None], set[int]] = {}

        def sees(
            viewer: Viewer,
            escalation: Escalation = escalation,
            groups: dict[tuple[str, int | None], list[tuple[int, int | None]]] = groups,
            owners: dict[tuple[str, int | None], set[int]] = owners,
        ) -> bool:
            if not in_escalation_audience(viewer, escalation):
                return False
            for (visibility, team_id), rows in groups.items():
                if whole(viewer, visibility, team_id):
                    continue
                if visibility not in (team, private):
                    return False  # no rule lets anyone see an unknown visibility
                if (visibility, team_id) not in owners:
                    owners[(visibility, team_id)] = owners_of_all(rows)
                if viewer.person_id not in owners[(visibility, team_id)]:
                    return False
            return True

        out[escalation.id] = [viewer for viewer in viewers if sees(viewer)]
    return out


# -- lessons ------------------------------------------------------------------------------------


def can_see_lesson(viewer: Anyone, lesson: Lesson) -> bool:
    """A lesson with no linked failure is for everyone signed in. Otherwise: members (any role) of
    its audience teams, its author, and anyone who may see at least one of its failures."""
    if not isinstance(viewer, Viewer):
        return False
    if not lesson.failures:
        return True
    if lesson.author_id is not None and lesson.author_id == viewer.person_id:
        return True
    if any(team.id in viewer.roles for team in lesson.audience):
        return True
    return any(can_see_failure(viewer, failure) for failure in lesson.failures)


def visible_lessons_clause(viewer: Anyone, lesson: Any = Lesson) -> ColumnElement[bool]:
    """The SQL twin of :func:`can_see_lesson`."""
    if not isinstance(viewer, Viewer):
        return false()
    lf = lesson_failures.alias()
    has_failures = select(lf.c.lesson_id).where(lf.c.lesson_id == lesson.id).exists()
    author = and_(lesson.author_id.is_not(None), lesson.author_id == viewer.person_id)
    teams = viewer.teams()
    la = lesson_audience.alias()
    audience = (
        select(la.c.lesson_id).where(la.c.lesson_id == lesson.id, la.c.team_id.in_(teams)).exists()
        if teams
        else false()
    )
    lf2 = lesson_failures.alias()
    f = aliased(Failure)
    sees_a_failure = (
        select(lf2.c.lesson_id)
        .where(lf2.c.lesson_id == lesson.id, lf2.c.failure_id == f.id, visible_failures_clause(viewer, f))
        .exists()
    )
    return or_(~has_failures, author, audience, sees_a_failure)


def can_edit_lesson(viewer: Anyone, lesson: Lesson) -> bool:
    """May ``viewer`` publish the lesson? Its author, an org admin, a lead or team admin of one of
    its audience teams, or anyone who may change one of its failures. Never what one may not see."""
    if not isinstance(viewer, Viewer) or not can_see_lesson(viewer, lesson):
        return False
    if viewer.is_admin or (lesson.author_id is not None and lesson.author_id == viewer.person_id):
        return True
    if any(viewer.role_in(team.id) in EDITING_ROLES for team in lesson.audience):
        return True
    return any(can_edit_failure(viewer, failure) for failure in lesson.failures)


# -- actions: their owner may work on them --------------------------------------------------------


def can_work_on_action(viewer: Anyone, action: Action, failure: Failure) -> bool:
    """Complete, drop or reschedule an action, or run an experiment on it: whoever may change its
    failure, and the action's owner as long as they may see the failure."""
    if not isinstance(viewer, Viewer) or not can_see_failure(viewer, failure):
        return False
    return action.owner_id == viewer.person_id or can_edit_failure(viewer, failure)


def can_run_reflection(viewer: Anyone, failure: Failure, facilitator_id: int | None = None) -> bool:
    """Schedule, reschedule, mark held or write the notes of a reflection session on ``failure``:
    its facilitator, the leads and team-role admins of the failure's team, and org admins — each
    only while they may see the failure (decision 42)."""
    if not isinstance(viewer, Viewer) or not can_see_failure(viewer, failure):
        return False
    if facilitator_id is not None and facilitator_id == viewer.person_id:
        return True
    return viewer.is_admin or viewer.role_in(failure.team_id) in EDITING_ROLES


# -- the directory: people, teams, memberships ----------------------------------------------------


def can_manage_directory(viewer: Anyone) -> bool:
    """Add people and teams: org admins."""
    return isinstance(viewer, Viewer) and viewer.is_admin


def can_manage_team(viewer: Anyone, team_id: int) -> bool:
    """Add members to a team or change their roles: org admins and the team's leads and admins."""
    return isinstance(viewer, Viewer) and (viewer.is_admin or viewer.role_in(team_id) in EDITING_ROLES)


def role_change_refusal(
    viewer: Anyone,
    team_id: int,
    subject_id: int,
    new_role: str,
    *,
    current_role: str | None,
    current_leads: Collection[int],
) -> str | None:
    """Why ``viewer`` may not give ``subject_id`` the role ``new_role`` in the team (adding them
    if ``current_role`` is None), or None when they may. ``current_leads``: the team's leads now.

    A lead sees the team's private failures, so appointing one grants what the other rules
    withhold from org admins and team admins:

    * nobody adds themself to a team or changes their own role;
    * a lead is appointed, and a lead's role changed, only by another lead of the team — except
      that an org admin appoints the *first* lead of a team that has none;
    * other changes (adding members, member ↔ admin): org admins and the team's leads and admins.
    """
    if not isinstance(viewer, Viewer):
        return "only a signed-in person may change roles"
    if subject_id == viewer.person_id:
        return "nobody may add themself to a team or change their own role"
    touches_lead = Role.lead.value in (new_role, current_role)
    if not touches_lead:
        if can_manage_team(viewer, team_id):
            return None
        return "only an org admin or the team's leads and admins may change its members"
    if viewer.role_in(team_id) == Role.lead.value:
        return None
    if viewer.is_admin and not current_leads and new_role == Role.lead.value:
        return None
    return "only a lead of the team may appoint a lead or change a lead's role (an org admin: its first lead)"


def can_set_role(
    viewer: Anyone,
    team_id: int,
    subject_id: int,
    new_role: str,
    *,
    current_role: str | None,
    current_leads: Collection[int],
) -> bool:
    """May ``viewer`` give ``subject_id`` the role ``new_role`` in the team? See
    :func:`role_change_refusal` for the rule."""
    return (
        role_change_refusal(
            viewer, team_id, subject_id, new_role, current_role=current_role, current_leads=current_leads
        )
        is None
    )


# -- calendar feeds and checklists ----------------------------------------------------------------

#: No person has this id: a :func:`member_view` is never "the reporter" or "involved" in anything.
NOBODY = -1


def member_view(team_id: int) -> Viewer:
    """A plain member of ``team_id`` and of no other team, involved in nothing, not an org admin:
    what a team feed or a team digest shows, whoever made or reads it. Private failures of the
    team (for its leads and the people involved) never appear in it."""
    return Viewer(person_id=NOBODY, is_admin=False, roles=MappingProxyType({team_id: Role.member.value}))


def can_manage_team_feed(viewer: Anyone, team_id: int) -> bool:
    """Make a team's calendar feed: the team's leads and team-role admins. Not org admins as such:
    a feed is a standing, unauthenticated copy of the team's calendar, the team's to hand out.
    (Whoever makes it, the feed lists only what a plain member of the team may see.)"""
    return isinstance(viewer, Viewer) and viewer.role_in(team_id) in EDITING_ROLES


def can_revoke_team_feed(viewer: Anyone, team_id: int) -> bool:
    """Revoke (and list) a team's feeds: its leads and admins, and org admins, who may cut off a
    feed that leaked but not make one."""
    return isinstance(viewer, Viewer) and (viewer.is_admin or can_manage_team_feed(viewer, team_id))


def can_change_checklist(viewer: Anyone, team_id: int | None) -> bool:
    """Create or revise a checklist (template, decision criteria) of team ``team_id``, or an
    org-wide one (``None``): org admins for any, the team's leads and admins for the team's."""
    if not isinstance(viewer, Viewer):
        return False
    return viewer.is_admin or (team_id is not None and viewer.role_in(team_id) in EDITING_ROLES)


# -- coaching: author and subject only, never admins --------------------------------------------


def can_see_note(viewer: Anyone, note: CoachingNote) -> bool:
    return isinstance(viewer, Viewer) and viewer.person_id in {note.author_id, note.subject_id}


def visible_notes_clause(viewer: Anyone, note: Any = CoachingNote) -> ColumnElement[bool]:
    if not isinstance(viewer, Viewer):
        return false()
    pid = viewer.person_id
    return or_(and_(note.author_id.is_not(None), note.author_id == pid), note.subject_id == pid)


def can_see_plan(viewer: Anyone, plan: DevelopmentPlan) -> bool:
    return isinstance(viewer, Viewer) and viewer.person_id in {plan.author_id, plan.person_id}


def visible_plans_clause(viewer: Anyone, plan: Any = DevelopmentPlan) -> ColumnElement[bool]:
    if not isinstance(viewer, Viewer):
        return false()
    pid = viewer.person_id
    return or_(and_(plan.author_id.is_not(None), plan.author_id == pid), plan.person_id == pid)


# -- any record ---------------------------------------------------------------------------------


def failure_of(session: Session, record: Review | Action | Experiment | Observation) -> Failure:
    """The failure whose visibility a review, action, experiment or observation inherits."""
    if isinstance(record, Observation):
        experiment = session.get(Experiment, record.experiment_id)
        if experiment is None:
            raise LookupError(f"observation {record.id} has no experiment")
        record = experiment
    if isinstance(record, Experiment):
        action = session.get(Action, record.action_id)
        if action is None:
            raise LookupError(f"experiment {record.id} has no action")
        record = action
    failure = session.get(Failure, record.failure_id)
    if failure is None:
        raise LookupError(f"{record.__record_type__} {record.id} has no failure")
    return failure


def can_see(session: Session, viewer: Anyone, record: object) -> bool:
    """One entry point for adapters: dispatches on the record's type."""
    if not isinstance(viewer, Viewer):
        return False
    if isinstance(record, Failure):
        return can_see_failure(viewer, record)
    if isinstance(record, Review | Action | Experiment | Observation):
        return can_see_failure(viewer, failure_of(session, record))
    if isinstance(record, Lesson):
        return can_see_lesson(viewer, record)
    if isinstance(record, Assumption):
        return can_see_assumption(session, viewer, record)
    if isinstance(record, Escalation):
        return can_see_escalation(session, viewer, record)
    if isinstance(record, CoachingNote):
        return can_see_note(viewer, record)
    if isinstance(record, DevelopmentPlan):
        return can_see_plan(viewer, record)
    if isinstance(record, Person | Team):
        return True  # the directory is open to everyone signed in
    raise TypeError(f"no visibility rule for {type(record).__name__}")


def require_visible(session: Session, viewer: Anyone, record: object) -> None:
    """Raise :class:`PermissionDenied` (403) unless ``viewer`` may see ``record``."""
    if not can_see(session, viewer, record):
        label = getattr(record, "__record_type__", type(record).__name__.lower())
        rid = getattr(record, "id", None)
        raise PermissionDenied(
            f"you may not see {label} {rid}" if rid is not None else f"you may not see this {label}"
        )


def require_can_edit_failure(viewer: Anyone, failure: Failure) -> None:
    if not can_edit_failure(viewer, failure):
        raise PermissionDenied(
            "only the reporter, the people involved, the team's leads or admins, "
            "or an org admin (not for private failures) may change this failure",
            field="failure",
        )
