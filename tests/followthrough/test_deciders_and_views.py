"""Who may renew or retire a guardrail, its state in one word, the failures a viewer may see
behind a checklist, and recognition counted by kind."""

from __future__ import annotations

import datetime as dt
from types import MappingProxyType

import pytest
from sqlalchemy.orm import Session

from lessonloop.access.actor import MissingActor
from lessonloop.access.viewer import Viewer, viewer_for
from lessonloop.errors import PermissionDenied
from lessonloop.followthrough import checklists as c
from lessonloop.followthrough import guardrails as g
from lessonloop.followthrough import recognition as rec
from lessonloop.people.service import add_member, add_person, add_team
from tests import factories
from tests.factories import SYSTEM

TODAY = dt.date(2030, 3, 1)


def test_state_kind_for_badges(session: Session) -> None:
    factories.team_with_people(session)
    guard = g.add_guardrail(
        session,
        title="No Friday deploys",
        owner="ana",
        expires_on="2030-03-20",
        rollback_plan="r",
        today=TODAY,
        viewer=SYSTEM,
    )
    assert g.state_kind(guard, TODAY) == "active"
    assert g.state_kind(guard, dt.date(2030, 3, 13)) == "expiring"  # 7 days left
    assert g.state_kind(guard, dt.date(2030, 3, 20)) == "expiring"  # expires today
    assert g.state_kind(guard, dt.date(2030, 3, 21)) == "expired"
    g.renew_guardrail(
        session, guard.id, expires_on="2030-05-01", reason="still needed", today=TODAY, viewer=SYSTEM
    )
    assert g.state_kind(guard, TODAY) == "active"  # renewed reads as active again
    g.retire_guardrail(session, guard.id, reason="done", viewer=SYSTEM)
    assert g.state_kind(guard, TODAY) == "retired"


def test_only_the_owner_a_team_lead_or_admin_or_an_org_admin_decide(session: Session) -> None:
    people = factories.team_with_people(session)  # Payments: ana lead, ben member
    growth = add_team(session, name="Growth", viewer=SYSTEM)
    cy = add_person(session, name="Cy Park", handle="cy", viewer=SYSTEM)
    add_member(session, team=growth, person=cy, role="lead", viewer=SYSTEM)
    guard = g.add_guardrail(
        session,
        title="Second approver on pricing",
        owner="ben",
        expires_on="2030-03-20",
        rollback_plan="r",
        team="Payments",
        today=TODAY,
        viewer=SYSTEM,
    )
    owner = viewer_for(session, people["ben"])
    lead = viewer_for(session, people["ana"])
    other_lead = viewer_for(session, cy)
    org_admin = Viewer(person_id=cy.id, is_admin=True, roles=MappingProxyType({}))
    team_admin = Viewer(person_id=cy.id, roles=MappingProxyType({people["team"].id: "admin"}))
    assert g.can_decide(SYSTEM, guard)  # a named system job
    with pytest.raises(MissingActor):
        g.can_decide(None, guard)  # type: ignore[arg-type]
    assert all(g.can_decide(v, guard) for v in (owner, lead, org_admin, team_admin))
    assert not g.can_decide(other_lead, guard)

    with pytest.raises(PermissionDenied, match="owner"):
        g.renew_guardrail(
            session, guard.id, expires_on="2030-04-01", reason="x", today=TODAY, viewer=other_lead
        )
    with pytest.raises(PermissionDenied):
        g.retire_guardrail(session, guard.id, reason="x", viewer=other_lead)
    assert guard.status == "active" and guard.decisions == []
    g.renew_guardrail(
        session, guard.id, expires_on="2030-04-01", reason="x", by="ben", today=TODAY, viewer=owner
    )
    g.retire_guardrail(session, guard.id, reason="done", by="ana", viewer=lead)
    assert [d.decision for d in guard.decisions] == ["renewed", "retired"]

    teamless = g.add_guardrail(
        session,
        title="Freeze",
        owner="ben",
        expires_on="2030-03-20",
        rollback_plan="r",
        today=TODAY,
        viewer=SYSTEM,
    )
    assert not g.can_decide(lead, teamless)  # no team: the owner or an org admin
    assert g.can_decide(owner, teamless) and g.can_decide(org_admin, teamless)


def test_the_failures_behind_a_checklist_as_a_viewer_sees_them(session: Session) -> None:
    people = factories.team_with_people(session)
    open_failure = factories.failure(session, team="Payments", reporter="ana")
    private = factories.failure(
        session, title="Payroll leaked", team="Payments", reporter="ana", people=["ana"], visibility="private"
    )
    c.create_checklist(session, name="Kickoff", items=["one"], viewer=SYSTEM)
    first = c.revise_checklist(
        session, "Kickoff", items=["one", "two"], reason="r", failure_id=open_failure.id, viewer=SYSTEM
    )
    second = c.revise_checklist(
        session, "Kickoff", items=["one", "two", "three"], reason="r", failure_id=private.id, viewer=SYSTEM
    )
    c.revise_checklist(
        session, "Kickoff", items=["two", "three"], reason="r", failure_id=open_failure.id, viewer=SYSTEM
    )

    ana, ben = viewer_for(session, people["ana"]), viewer_for(session, people["ben"])
    assert [f.id for f in c.visible_shaping_failures(session, "Kickoff", ana)] == [
        open_failure.id,
        private.id,
    ]
    assert [f.id for f in c.visible_shaping_failures(session, "Kickoff", ben)] == [open_failure.id]
    assert [f.id for f in c.visible_shaping_failures(session, "Kickoff", viewer=SYSTEM)] == [
        open_failure.id,
        private.id,
    ]
    assert c.prompted_by(session, first, ben) is open_failure
    assert c.prompted_by(session, second, ben) is None and c.prompted_by(session, second, ana) is private
    assert (
        c.prompted_by(session, c.get_revision(session, "Kickoff", 1, viewer=SYSTEM), ana) is None
    )  # v1 names none

    session.delete(open_failure)
    session.flush()
    session.expire_all()
    assert (
        c.prompted_by(session, c.get_revision(session, "Kickoff", 2, viewer=SYSTEM), viewer=SYSTEM) is None
    )  # deleted
    assert [f.id for f in c.visible_shaping_failures(session, "Kickoff", ana)] == [private.id]


def test_counts_by_kind(session: Session) -> None:
    factories.team_with_people(session)
    rec.recognise(session, person="ben", kind="win", by="ana", viewer=SYSTEM)
    rec.recognise(session, person="ben", kind="candid-review", by="ana", viewer=SYSTEM)
    rec.recognise(session, person="ben", kind="candid-review", by="ana", viewer=SYSTEM)
    counts = rec.counts_by_kind(rec.list_recognitions(session, person="ben", viewer=SYSTEM))
    assert counts == {"candid-review": 2, "validated-fix": 0, "shared-lesson": 0, "win": 1}
    assert rec.counts_by_kind([]) == {k: 0 for k in rec.KIND_HELP}
