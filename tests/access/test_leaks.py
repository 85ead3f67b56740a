"""Issue #11's leaks, each reproduced: role changes, reflection sessions, team feeds, digests and
checklists never show or grant what the policy withholds. Every test runs on SQLite and
PostgreSQL (the ``db`` fixture)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar
from sqlalchemy import select

from lessonloop.access.actor import SystemActor
from lessonloop.access.policy import can_set_role
from lessonloop.access.viewer import Viewer, viewer_for
from lessonloop.actions.service import add_action
from lessonloop.app import create_app
from lessonloop.calendars import service as calendars
from lessonloop.errors import Invalid, NotFound, PermissionDenied
from lessonloop.experiments.service import add_experiment
from lessonloop.failures.models import Failure
from lessonloop.failures.service import get_visible_failure, log_failure
from lessonloop.followthrough import checklists
from lessonloop.followthrough.digests import build_team_digest, send_team_digest
from lessonloop.lessons.service import create_lesson
from lessonloop.notifications.config import WorkerConfig
from lessonloop.notifications.models import Notification
from lessonloop.people.models import Membership
from lessonloop.people.service import add_member, add_person, add_team
from lessonloop.store.engine import Database
from lessonloop.worker.models import ReflectionSession
from lessonloop.worker.reflections import check_facilitator
from lessonloop.worker.runner import run_once
from tests.access.world import make_admin
from tests.api.conftest import API, as_user

SYSTEM = SystemActor("test")
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def _now_as_the_test_runs() -> None:
    """NOW and TODAY as each test starts, not as the module was imported: a suite that crossed
    midnight UTC between the two compared yesterday's dates with today's."""
    global NOW, TODAY
    NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
    TODAY = NOW.date()


SECRET = "Secret merger fell through"  # the private failure's title: must never leak


@dataclass
class Ids:
    people: dict[str, int]
    team: int  # Payments: a lead, a team admin, a member
    ops: int  # Ops: a team admin only, no lead
    empty: int  # Empty: nobody
    private: int  # private failure in Payments
    ops_private: int  # private failure in Ops (whose only team-role person is an admin)
    action: int
    experiment: int
    lesson: int


def build(db: Database) -> Ids:
    with db.unit() as s:
        team = add_team(s, name="Payments", viewer=SYSTEM)
        ops = add_team(s, name="Ops", viewer=SYSTEM)
        empty = add_team(s, name="Empty", viewer=SYSTEM)
        handles = ("lead", "team-admin", "member", "admin", "reporter", "ops-admin", "outsider")
        people = {h: add_person(s, name=h.title(), handle=h, viewer=SYSTEM) for h in handles}
        add_member(s, team=team, person=people["lead"], role="lead", viewer=SYSTEM)
        add_member(s, team=team, person=people["team-admin"], role="admin", viewer=SYSTEM)
        add_member(s, team=team, person=people["member"], role="member", viewer=SYSTEM)
        add_member(s, team=ops, person=people["ops-admin"], role="admin", viewer=SYSTEM)
        make_admin(s, people["admin"])
        private = log_failure(
            s,
            title=SECRET,
            visibility="private",
            severity="high",
            team=team,
            reporter=people["reporter"],
            detected_at=NOW,
            viewer=SYSTEM,
        )
        ops_private = log_failure(
            s,
            title=SECRET + " (ops)",
            visibility="private",
            severity="critical",
            team=ops,
            reporter=people["reporter"],
            detected_at=NOW,
            viewer=SYSTEM,
        )
        action = add_action(
            s,
            failure_id=private.id,
            title=SECRET + ": call the bank",
            owner=people["lead"],
            due_date=TODAY + dt.timedelta(days=5),
            viewer=SYSTEM,
        )
        experiment = add_experiment(
            s,
            action_id=action.id,
            hypothesis=SECRET + ": a second bank helps",
            metric="offers",
            comparator=">=",
            threshold=1,
            start_date=TODAY,
            end_date=TODAY + dt.timedelta(days=10),
            viewer=SYSTEM,
        )
        lesson = create_lesson(
            s,
            title=SECRET + ": the lesson",
            learned="Talk to two banks",
            failures=[private.id],
            audience=[team],
            published_at=NOW - dt.timedelta(days=TODAY.weekday() + 3),  # inside last week
            viewer=SYSTEM,
        )
        return Ids(
            people={h: p.id for h, p in people.items()},
            team=team.id,
            ops=ops.id,
            empty=empty.id,
            private=private.id,
            ops_private=ops_private.id,
            action=action.id,
            experiment=experiment.id,
            lesson=lesson.id,
        )


def _viewer(db: Database, ids: Ids, handle: str) -> Viewer:
    with db.unit() as s:
        return viewer_for(s, ids.people[handle])


def _role(db: Database, team: int, person: int) -> str | None:
    with db.unit() as s:
        return s.scalar(
            select(Membership.role).where(Membership.team_id == team, Membership.person_id == person)
        )


def _texts(ics: str) -> str:
    """Every event's summary and description of a feed, one string."""
    cal = Calendar.from_ical(ics)
    return "\n".join(f"{ev.get('SUMMARY', '')}\n{ev.get('DESCRIPTION', '')}" for ev in cal.walk("VEVENT"))


# -- 1. role changes never grant what the policy withholds ----------------------------------------


@pytest.mark.parametrize(
    ("actor", "team", "subject", "role"),
    [
        ("team-admin", "team", "team-admin", "lead"),  # a team admin makes themself lead
        ("team-admin", "team", "member", "lead"),  # ... or anyone
        ("admin", "team", "admin", "lead"),  # an org admin makes themself lead
        ("admin", "team", "outsider", "lead"),  # ... or anyone, of a team that has a lead
        ("admin", "empty", "admin", "lead"),  # not even of a team without one: never oneself
        ("team-admin", "team", "lead", "member"),  # a team admin demotes the lead
        ("lead", "team", "lead", "admin"),  # nobody changes their own role
        ("member", "team", "outsider", "member"),  # a plain member manages nobody
    ],
)
def test_a_role_change_that_would_grant_what_the_policy_withholds_is_refused(
    db: Database, actor: str, team: str, subject: str, role: str
) -> None:
    ids = build(db)
    viewer = _viewer(db, ids, actor)
    team_id = getattr(ids, team)
    before = _role(db, team_id, ids.people[subject])
    with pytest.raises(PermissionDenied), db.unit() as s:
        add_member(s, team=team_id, person=ids.people[subject], role=role, viewer=viewer)
    assert _role(db, team_id, ids.people[subject]) == before
    if subject == actor and role == "lead":
        with db.unit() as s:
            again = viewer_for(s, ids.people[actor])
            with pytest.raises(NotFound):
                get_visible_failure(s, ids.private, again)


@pytest.mark.parametrize(
    ("actor", "team", "subject", "role"),
    [
        ("lead", "team", "member", "lead"),  # a lead appoints another lead
        ("admin", "empty", "outsider", "lead"),  # an org admin appoints a team's first lead
        ("team-admin", "team", "outsider", "member"),  # team admins manage members
        ("team-admin", "team", "member", "admin"),
        ("admin", "team", "outsider", "admin"),
    ],
)
def test_the_allowed_role_changes_still_work(
    db: Database, actor: str, team: str, subject: str, role: str
) -> None:
    ids = build(db)
    viewer = _viewer(db, ids, actor)
    team_id = getattr(ids, team)
    with db.unit() as s:
        add_member(s, team=team_id, person=ids.people[subject], role=role, viewer=viewer)
    assert _role(db, team_id, ids.people[subject]) == role


def test_can_set_role_grants_only_people_and_never_oneself() -> None:
    lead = Viewer(person_id=1, roles={7: "lead"})
    assert not can_set_role(
        SYSTEM, 7, 1, "lead", current_role=None, current_leads=()
    )  # services let jobs through
    assert not can_set_role(lead, 7, 1, "member", current_role="lead", current_leads=(1,))
    assert can_set_role(lead, 7, 2, "lead", current_role="member", current_leads=(1,))


def test_the_api_refuses_a_team_admin_making_themself_lead(db: Database) -> None:
    ids = build(db)
    with TestClient(create_app(database=db), headers=as_user(db, "team-admin")) as client:
        answer = client.post(f"{API}/teams/{ids.team}/members", json={"person": "team-admin", "role": "lead"})
    assert answer.status_code == 403
    assert _role(db, ids.team, ids.people["team-admin"]) == "admin"


# -- 2. reflection sessions -----------------------------------------------------------------------


def _reflect(db: Database) -> None:
    run_once(db, now=NOW, config=WorkerConfig(reflection_within_days=3), only_jobs={"reflection-sessions"})


def test_a_reflection_session_is_facilitated_only_by_someone_who_may_see_the_failure(db: Database) -> None:
    ids = build(db)
    _reflect(db)
    with db.unit() as s:
        rows = {r.failure_id: r for r in s.scalars(select(ReflectionSession))}
        # Ops has only a team-role admin, who may not see Ops' private failure: its reporter runs it.
        assert rows[ids.ops_private].facilitator_id == ids.people["reporter"]
        assert rows[ids.private].facilitator_id == ids.people["lead"]
        told = set(s.scalars(select(Notification.person_id).where(Notification.kind == "reflection")))
    assert ids.people["ops-admin"] not in told


def test_a_facilitator_who_may_not_see_the_failure_is_invalid(db: Database) -> None:
    ids = build(db)
    with db.unit() as s:
        failure = s.get(Failure, ids.ops_private)
        assert failure is not None
        with pytest.raises(Invalid):
            check_facilitator(s, failure, ids.people["ops-admin"], viewer=SYSTEM)
        check_facilitator(s, failure, ids.people["reporter"], viewer=SYSTEM)


def test_personal_feeds_carry_no_reflection_session_on_a_failure_one_may_not_see(db: Database) -> None:
    ids = build(db)
    _reflect(db)
    with db.unit() as s:
        _r, member = calendars.create_token(s, person=ids.people["member"], viewer=SYSTEM)
        _r, ops_admin = calendars.create_token(s, person=ids.people["ops-admin"], viewer=SYSTEM)
        _r, lead = calendars.create_token(s, person=ids.people["lead"], viewer=SYSTEM)
    with db.unit() as s:
        assert SECRET not in _texts(calendars.feed(s, member, today=TODAY))
        assert SECRET not in _texts(calendars.feed(s, ops_admin, today=TODAY))
        assert SECRET in _texts(calendars.feed(s, lead, today=TODAY))  # the lead may see it


# -- 3. team feeds --------------------------------------------------------------------------------


def test_a_team_feed_lists_only_what_a_plain_member_may_see(db: Database) -> None:
    ids = build(db)
    _reflect(db)
    with db.unit() as s:
        _r, token = calendars.create_token(s, team=ids.team, viewer=SYSTEM)
    with db.unit() as s:
        text = _texts(calendars.feed(s, token, today=TODAY))
    assert SECRET not in text


def test_an_org_admin_may_not_make_a_team_feed(db: Database) -> None:
    ids = build(db)
    admin = _viewer(db, ids, "admin")
    with pytest.raises(PermissionDenied), db.unit() as s:
        calendars.create_token(s, team=ids.team, viewer=admin)


def test_the_teams_leads_and_admins_make_its_feed(db: Database) -> None:
    ids = build(db)
    for handle in ("lead", "team-admin"):
        with db.unit() as s:
            row, _plain = calendars.create_token(s, team=ids.team, viewer=viewer_for(s, ids.people[handle]))
            assert (row.team_id, row.created_by_id) == (ids.team, ids.people[handle])  # who handed it out
    with pytest.raises(PermissionDenied), db.unit() as s:
        calendars.create_token(s, team=ids.team, viewer=viewer_for(s, ids.people["member"]))


# -- 5. digests -----------------------------------------------------------------------------------


def test_a_digest_shows_its_reader_only_what_they_may_see(db: Database) -> None:
    ids = build(db)
    admin = _viewer(db, ids, "admin")
    member = _viewer(db, ids, "member")
    with db.unit() as s:
        for_admin = build_team_digest(s, ids.team, viewer=admin)
        for_member = build_team_digest(s, ids.team, viewer=member)
    assert [lesson.id for lesson in for_member.data.lessons] == [ids.lesson]  # an audience member
    assert for_admin.data.lessons == []
    assert SECRET not in for_admin.markdown and SECRET not in for_admin.html


def test_a_sent_digest_is_built_for_each_recipient(db: Database) -> None:
    ids = build(db)
    with db.unit() as s:
        assert send_team_digest(s, ids.team, viewer=SystemActor("weekly-digests")) == 3
    with db.unit() as s:
        bodies = {
            n.person_id: n.body_text
            for n in s.scalars(select(Notification).where(Notification.kind == "weekly-digest"))
        }
    assert set(bodies) == {ids.people[h] for h in ("lead", "team-admin", "member")}
    assert all(SECRET + ": the lesson" in body for body in bodies.values())


# -- 11. checklists -------------------------------------------------------------------------------


def test_a_member_may_not_revise_an_org_wide_checklist(db: Database) -> None:
    ids = build(db)
    with db.unit() as s:
        checklists.create_checklist(s, name="Kickoff", items=["Name an owner"], viewer=SYSTEM)
        public = log_failure(s, title="A missed kickoff", visibility="org", viewer=SYSTEM)
        public_id = public.id
    member = _viewer(db, ids, "member")
    with pytest.raises(PermissionDenied), db.unit() as s:
        checklists.revise_checklist(
            s, "Kickoff", items=["Name an owner", "Date it"], reason="r", failure_id=public_id, viewer=member
        )
    with pytest.raises(PermissionDenied), db.unit() as s:
        checklists.create_checklist(s, name="Mine", items=["x"], viewer=member)
    admin = _viewer(db, ids, "admin")
    with db.unit() as s:
        checklists.revise_checklist(
            s, "Kickoff", items=["Name an owner", "Date it"], reason="r", failure_id=public_id, viewer=admin
        )
