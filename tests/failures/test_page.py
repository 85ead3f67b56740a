"""The failure page's data is one use case: visibility, what the person may do, similar failures."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from lessonloop.access.actor import MissingActor
from lessonloop.access.viewer import viewer_for
from lessonloop.errors import NotFound
from lessonloop.failures.page import failure_page, similar_on_page
from tests.factories import failure, reviewed, team_with_people


def test_the_page_is_what_the_person_may_see_and_do(session: Session) -> None:
    people = team_with_people(session)
    earlier = failure(session, title="Vendor API slipped past the launch date", team="Payments")
    reviewed(session, earlier)
    now = failure(
        session, title="Vendor API slipped past the launch date again", team="Payments", reporter="ana"
    )
    reviewed(session, now, owner="ben", gap_type="skill")
    hidden = failure(session, title="Private matter", team="Payments", reporter="ana", visibility="private")
    session.flush()

    ana, ben = viewer_for(session, people["ana"]), viewer_for(session, people["ben"])
    as_ana = failure_page(session, now.id, viewer=ana)
    as_ben = failure_page(session, now.id, viewer=ben)
    assert as_ana.can_edit and not as_ben.can_edit  # the lead (and reporter) may change it; a member not
    assert as_ben.workable == {
        a.id for a in as_ben.actions if a.owner_id == people["ben"].id
    }  # his own action
    assert as_ana.workable == {a.id for a in as_ana.actions}
    similar = similar_on_page(session, now.id, viewer=ben)
    assert [m.id for m in similar.similar][:1] == [earlier.id]
    assert similar.suggested is not None and similar.suggested.id == earlier.id
    assert not similar.can_edit and similar_on_page(session, now.id, viewer=ana).can_edit
    assert as_ana.may_plan  # a skill gap, and ana leads the reporter's team (herself)
    with pytest.raises(NotFound):
        failure_page(session, hidden.id, viewer=ben)
    with pytest.raises(NotFound):
        similar_on_page(session, hidden.id, viewer=ben)
    with pytest.raises(MissingActor):
        failure_page(session, now.id, viewer=None)  # type: ignore[arg-type]
    with pytest.raises(MissingActor):
        similar_on_page(session, now.id, viewer=None)  # type: ignore[arg-type]
