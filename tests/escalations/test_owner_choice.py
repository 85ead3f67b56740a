"""An escalation is handed only to someone who may see it; the pages list those people."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from lessonloop.access.policy import (
    can_see_escalation,
    escalation_audience,
    escalation_audiences,
    escalations_seen,
)
from lessonloop.access.viewer import viewer_for, viewers_for
from lessonloop.errors import Invalid
from lessonloop.escalations.models import Escalation
from lessonloop.escalations.service import possible_owners, update_escalation
from lessonloop.people.service import add_member, add_person, add_team, get_person
from lessonloop.store import crud
from tests.access.world import make_admin
from tests.factories import SYSTEM, failure, team_with_people


def _escalation(session: Session) -> int:
    people = team_with_people(session)
    growth = add_team(session, name="Growth", viewer=SYSTEM)
    gil = add_person(session, name="Gil Lead", handle="gil", viewer=SYSTEM)
    add_member(session, team=growth, person=gil, role="lead", viewer=SYSTEM)
    f = failure(session, team=people["team"].id, reporter="ana", visibility="team")
    esc = Escalation(
        rule="label",
        subject_key="deploy",
        subject="deploy",
        team_id=people["team"].id,
        support_route="team-lead",
        failure_ids=[f.id],
        count=3,
        window_days=30,
        explanation="Three deploy failures",
    )
    session.add(esc)
    session.flush()
    return esc.id


def test_possible_owners_are_the_people_who_may_see_it(session: Session) -> None:
    eid = _escalation(session)
    ana = viewer_for(session, get_person(session, "ana", viewer=SYSTEM))
    assert [p.handle for p in possible_owners(session, eid, viewer=ana)] == ["ana", "ben"]


def test_handing_it_to_someone_who_may_not_see_it_is_refused(session: Session) -> None:
    eid = _escalation(session)
    with pytest.raises(Invalid) as err:
        update_escalation(session, eid, owner="gil", viewer=SYSTEM)
    assert err.value.field == "owner"
    assert update_escalation(session, eid, owner="ben", viewer=SYSTEM).owner.handle == "ben"  # type: ignore[union-attr]


def test_the_audience_read_at_once_is_can_see_escalation_for_each_person(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # escalation_audience answers for everyone from one reading of the failures, grouped; it must
    # be can_see_escalation person by person, for every mix of groups, own failures (reported,
    # involved), admins, leads, members, outsiders, a deleted failure and a private escalation.
    payments = team_with_people(session)
    growth = add_team(session, name="Growth", viewer=SYSTEM)
    for handle, role in (("gil", "lead"), ("gus", "member")):
        person = add_person(session, name=handle.title(), handle=handle, viewer=SYSTEM)
        add_member(session, team=growth, person=person, role=role, viewer=SYSTEM)
    add_person(session, name="Out Sider", handle="out", viewer=SYSTEM)
    boss = add_person(session, name="Org Admin", handle="boss", viewer=SYSTEM)
    make_admin(session, boss)
    pid = {h: get_person(session, h, viewer=SYSTEM).id for h in ("ana", "ben", "gil", "gus", "out", "boss")}
    made = {
        "org": failure(session, visibility="org").id,
        "team": failure(session, visibility="team", team=payments["team"].id).id,
        "no team": failure(session, visibility="team").id,
        "growth": failure(session, visibility="team", team=growth.id).id,
        "private": failure(session, visibility="private", team=payments["team"].id).id,
        "out's": failure(session, visibility="private", team=growth.id, reporter="out").id,
        "gus in": failure(session, visibility="private", team=payments["team"].id, people=["gus"]).id,
    }
    gone = failure(session, visibility="private", team=growth.id)
    gone_id = gone.id
    session.delete(gone)
    session.flush()
    mixes = [[k] for k in made] + [
        ["org", "team"],
        ["org", "growth"],
        ["team", "private"],
        ["out's", "org"],
        ["gus in", "growth"],
        list(made),
    ]
    people = [get_person(session, h, viewer=SYSTEM) for h in pid]
    viewers = viewers_for(session, people)
    assert viewers == [viewer_for(session, p) for p in people]
    seen_by: set[int] = set()
    hidden_from: set[int] = set()
    made_escalations: list[Escalation] = []
    for about in (None, pid["ben"]):
        for mix in mixes:
            esc = Escalation(
                rule="label",
                subject_key="x",
                subject="x",
                team_id=payments["team"].id,
                support_route="external-leadership-coach"
                if about
                else "organisational-development-specialist",
                person_id=about,
                owner_id=pid["ana"],
                # Entries that are not whole numbers name no failure, in Python and in SQL
                # alike ("7" is text, though a failure 7 may exist; 2.0 a real number).
                failure_ids=[made[k] for k in mix] + [gone_id, "7", 2.0, -3],
                count=len(mix),
                window_days=30,
                explanation="x",
            )
            session.add(esc)
            session.flush()
            expected = [v.person_id for v in viewers if can_see_escalation(session, v, esc)]
            assert [v.person_id for v in escalation_audience(session, esc, viewers)] == expected, (about, mix)
            seen_by.update(expected)
            hidden_from.update(set(pid.values()) - set(expected))
            made_escalations.append(esc)
    # Not vacuous: in these mixes each person both sees some escalation and is refused another.
    assert seen_by == hidden_from == set(pid.values())
    # All of them at once (a page of escalations, one reading of their failures): the same.
    together = escalation_audiences(session, made_escalations, viewers)
    for esc in made_escalations:
        assert [v.person_id for v in together[esc.id]] == [
            v.person_id for v in escalation_audience(session, esc, viewers)
        ], esc.failure_ids
    # escalations_seen answers for many escalations at once (decisions 66, 67: the database asks
    # each one for a hidden failure): the same as asking can_see_escalation for each, in their
    # order, for every person and any chunk size.
    for size in (1, 2, 900):
        monkeypatch.setattr(crud, "IN_LIST_SIZE", size)
        monkeypatch.setattr(crud, "ARRAY_SIZE", size)
        for v in viewers:
            expected_ids = [e.id for e in made_escalations if can_see_escalation(session, v, e)]
            assert [e.id for e in escalations_seen(session, v, made_escalations)] == expected_ids, v
    assert escalations_seen(session, None, made_escalations) == []


def test_a_stored_list_that_is_not_a_list_names_no_failure(session: Session) -> None:
    # Only the application writes the list, always a list; a damaged one must neither fail the
    # page nor hide or show more than Python's reading of it (no integer entries: no failures).
    payments = team_with_people(session)
    hidden = failure(session, visibility="private", team=payments["team"].id)
    viewers = viewers_for(session, [get_person(session, h, viewer=SYSTEM) for h in ("ana", "ben")])
    made = []
    for stored in ({"x": hidden.id}, "damaged", None, [hidden.id]):
        esc = Escalation(
            rule="label",
            subject_key="x",
            subject="x",
            team_id=payments["team"].id,
            support_route="team-lead",
            failure_ids=stored,
            count=1,
            window_days=30,
            explanation="x",
        )
        session.add(esc)
        session.flush()
        made.append(esc)
    for v in viewers:
        expected = [e.id for e in made if can_see_escalation(session, v, e)]
        assert [e.id for e in escalations_seen(session, v, made)] == expected
    assert made[-1].id not in [e.id for e in escalations_seen(session, viewers[1], made)]  # not vacuous
