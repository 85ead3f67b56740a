"""Routes follow the pattern (never words in free text), HR is a person's choice that narrows who
sees it, and every escalation has an owner by the fallback order."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from lessonloop.access import viewer_for
from lessonloop.errors import Invalid, NotFound, PermissionDenied
from lessonloop.escalations.models import Escalation
from lessonloop.escalations.service import (
    check_escalations,
    get_escalation,
    list_escalations,
    update_escalation,
)
from lessonloop.failures.models import Failure
from lessonloop.people.service import add_member, add_person, add_team, get_person
from tests.access.world import make_admin
from tests.factories import SYSTEM, failure, reviewed, team_with_people

NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)


def _days_ago(n: float) -> str:
    return (NOW - dt.timedelta(days=n)).isoformat()


def _pattern(session: Session, label: str, *, team: str | None = "Payments", **extra: object) -> list[int]:
    return [
        failure(
            session, title=f"{label} {n}", labels=[label], team=team, detected_at=_days_ago(n), **extra
        ).id
        for n in (30, 20, 10)
    ]


def _one(session: Session) -> Escalation:
    [esc] = check_escalations(session, now=NOW, viewer=SYSTEM)
    return esc


def test_hr_words_in_the_impact_text_do_not_route_to_hr(session: Session) -> None:
    """The product launch that said "promotion" went to HR (the old _HR regex)."""
    team_with_people(session)
    for n in (30, 20, 10):
        failure(
            session,
            title=f"Spring launch promotion page broke {n}",
            impact="The promotion campaign and the performance review of the launch slipped; legal asked",
            observation="Miscommunication at the hand-off",
            labels=["launch"],
            team="Payments",
            kind="handoff-breakdown",
            severity="critical",
            people=["ben"],
            detected_at=_days_ago(n),
        )
    esc = _one(session)
    assert esc.support_route == "organisational-development-specialist"
    assert esc.person_id is None  # about no one: not private
    assert "not reviewed" in esc.route_reason


def test_process_and_context_reviews_route_to_the_od_specialist(session: Session) -> None:
    team_with_people(session)
    for fid, gap in zip(_pattern(session, "deploy"), ("process", "context", "skill"), strict=True):
        reviewed(session, session.get(Failure, fid), gap_type=gap, assumptions=[])
    esc = next(e for e in check_escalations(session, now=NOW, viewer=SYSTEM) if e.rule == "label")
    assert esc.support_route == "organisational-development-specialist"
    assert "1 context, 1 process, 1 skill" in esc.route_reason


def test_a_skill_pattern_of_one_person_goes_to_a_coach_privately(session: Session) -> None:
    people = team_with_people(session)
    cara = add_person(session, name="Cara Member", handle="cara", viewer=SYSTEM)
    add_member(session, team=people["team"], person=cara, role="member", viewer=SYSTEM)
    org = add_person(session, name="Org Admin", handle="org", viewer=SYSTEM)
    make_admin(session, org)
    for fid in _pattern(session, "estimates", people=["ben"]):
        reviewed(session, session.get(Failure, fid), gap_type="skill", assumptions=[])
    esc = next(e for e in check_escalations(session, now=NOW, viewer=SYSTEM) if e.rule == "label")
    ben = get_person(session, "ben", viewer=SYSTEM)
    assert esc.support_route == "external-leadership-coach" and esc.person_id == ben.id
    assert esc.owner is not None and esc.owner.handle == "ana"
    for handle in ("ben", "ana", "org"):  # the person, their lead, org admins
        assert get_escalation(
            session, esc.id, viewer=viewer_for(session, get_person(session, handle, viewer=SYSTEM))
        )
    with pytest.raises(NotFound):  # a team-mate who sees every failure does not see this
        get_escalation(session, esc.id, viewer=viewer_for(session, cara))
    assert list_escalations(session, viewer=viewer_for(session, cara)) == []


def test_the_coach_owner_is_never_the_person_it_is_about(session: Session) -> None:
    team_with_people(session)
    for fid in _pattern(session, "estimates", people=["ana"]):
        reviewed(session, session.get(Failure, fid), gap_type="skill", assumptions=[])
    esc = next(e for e in check_escalations(session, now=NOW, viewer=SYSTEM) if e.rule == "label")
    assert esc.support_route == "external-leadership-coach"
    assert esc.person_id == get_person(session, "ana", viewer=SYSTEM).id and esc.owner_id is None


def test_owner_fallback_lead_then_team_admins_then_org_admins(session: Session) -> None:
    lead_team = add_team(session, name="Led", viewer=SYSTEM)
    admin_team = add_team(session, name="Administered", viewer=SYSTEM)
    bare_team = add_team(session, name="Bare", viewer=SYSTEM)
    lead, team_admin, member, org1, org2 = (
        add_person(session, name=h.title(), handle=h, viewer=SYSTEM)
        for h in ("lead", "tadmin", "member", "orgone", "orgtwo")
    )
    add_member(session, team=lead_team, person=team_admin, role="admin", viewer=SYSTEM)
    add_member(session, team=lead_team, person=lead, role="lead", viewer=SYSTEM)
    add_member(session, team=admin_team, person=team_admin, role="admin", viewer=SYSTEM)
    add_member(session, team=admin_team, person=member, role="member", viewer=SYSTEM)
    add_member(session, team=bare_team, person=member, role="member", viewer=SYSTEM)
    make_admin(session, org1)
    make_admin(session, org2)
    _pattern(session, "one", team="Led")
    _pattern(session, "two", team="Administered")
    _pattern(session, "three", team="Bare")
    _pattern(session, "four", team=None)
    for n, team in ((9, "Led"), (8, "Administered"), (7, "Bare")):
        failure(session, labels=["across"], team=team, detected_at=_days_ago(n))
    owners = {e.subject: e.owner_id for e in check_escalations(session, now=NOW, viewer=SYSTEM)}
    assert owners == {
        "cause label 'one'": lead.id,
        "cause label 'two'": team_admin.id,
        "cause label 'three'": org1.id,
        "cause label 'four'": org1.id,
        "cause label 'across'": org1.id,  # cross-team: the org admins
    }


def test_no_org_admin_at_all_leaves_it_without_owner(session: Session) -> None:
    _pattern(session, "lonely", team=None)
    assert _one(session).owner_id is None


def _hr_world(session: Session) -> tuple[Escalation, dict[str, object]]:
    people = team_with_people(session)
    cara = add_person(session, name="Cara Member", handle="cara", viewer=SYSTEM)
    add_member(session, team=people["team"], person=cara, role="member", viewer=SYSTEM)
    org = add_person(session, name="Org Admin", handle="org", viewer=SYSTEM)
    make_admin(session, org)
    _pattern(session, "release")
    viewers = {
        h: viewer_for(session, get_person(session, h, viewer=SYSTEM)) for h in ("ana", "ben", "cara", "org")
    }
    return _one(session), viewers


def test_hr_chosen_by_a_lead_with_a_reason_narrows_who_sees_it(session: Session) -> None:
    esc, v = _hr_world(session)
    assert get_escalation(session, esc.id, viewer=v["ben"]).id == esc.id  # a team member saw it
    with pytest.raises(Invalid) as no_reason:
        update_escalation(
            session, esc.id, support_route="hr-business-partner", person="cara", viewer=v["ana"]
        )
    assert no_reason.value.field == "reason"
    with pytest.raises(Invalid):  # about no one yet: the person must be named
        update_escalation(
            session, esc.id, support_route="hr-business-partner", reason="Legal risk", viewer=v["ana"]
        )
    chosen = update_escalation(
        session,
        esc.id,
        support_route="hr-business-partner",
        reason="The release pressure became a performance conversation",
        person="cara",
        viewer=v["ana"],
    )
    assert chosen.support_route == "hr-business-partner" and chosen.person_id == v["cara"].person_id
    assert chosen.chosen_by_id == v["ana"].person_id == chosen.owner_id
    assert "because The release pressure became a performance conversation" in chosen.explanation
    with pytest.raises(NotFound):
        get_escalation(session, esc.id, viewer=v["ben"])
    assert list_escalations(session, viewer=v["ben"]) == []
    for who in ("ana", "cara", "org"):
        assert get_escalation(session, esc.id, viewer=v[who]).id == esc.id


def test_only_leads_and_admins_choose_hr_and_only_hr_or_assistance(session: Session) -> None:
    esc, v = _hr_world(session)
    with pytest.raises(PermissionDenied):
        update_escalation(
            session, esc.id, support_route="employee-assistance", reason="x", person="cara", viewer=v["ben"]
        )
    update_escalation(session, esc.id, owner="ben", viewer=v["ana"])  # an owner who is a member
    with pytest.raises(PermissionDenied):
        update_escalation(
            session, esc.id, support_route="employee-assistance", reason="x", person="cara", viewer=v["ben"]
        )
    with pytest.raises(Invalid):
        update_escalation(
            session, esc.id, support_route="external-leadership-coach", reason="x", viewer=v["ana"]
        )
    chosen = update_escalation(
        session,
        esc.id,
        support_route="employee-assistance",
        reason="Three night releases in a month",
        person="cara",
        viewer=v["org"],
    )
    assert chosen.owner_id == v["org"].person_id
    with pytest.raises(NotFound):  # the lead did not choose it: only the person, the chooser, org admins
        get_escalation(session, esc.id, viewer=v["ana"])
