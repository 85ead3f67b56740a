"""An escalation is handed only to someone who may see it; the pages list those people."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from lessonloop.access.viewer import viewer_for
from lessonloop.errors import Invalid
from lessonloop.escalations.models import Escalation
from lessonloop.escalations.service import possible_owners, update_escalation
from lessonloop.people.service import add_member, add_person, add_team, get_person
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
