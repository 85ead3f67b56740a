"""The failure page's team picker: every team's id and name, as the team list has them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from lessonloop.access.viewer import viewer_for
from lessonloop.people.service import add_team, list_teams, team_choices
from tests.factories import SYSTEM, team_with_people


def test_team_choices_are_the_teams_by_name(session: Session) -> None:
    org = team_with_people(session)
    for name in ("Infra", "Accounts", "zeta"):
        add_team(session, name=name, viewer=SYSTEM)
    for viewer in (SYSTEM, viewer_for(session, org["ben"])):
        assert team_choices(session, viewer=viewer) == [
            (t.id, t.name) for t in list_teams(session, viewer=viewer)
        ]
