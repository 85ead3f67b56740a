"""Post-mortem and weekly digest documents: in the pages and over the API, within visibility."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from lessonloop.accounts.service import issue_token
from lessonloop.failures.service import log_failure
from lessonloop.lessons.service import create_lesson
from lessonloop.store.engine import Database
from tests.factories import SYSTEM, reviewed
from tests.web.conftest import Browser, another_browser

TODAY = dt.date.today()


def _world(db: Database) -> dict[str, int]:
    with db.unit(actor="test") as session:
        shared = log_failure(
            session, title="Vendor date slipped the launch", team="Payments", reporter="ana", viewer=SYSTEM
        )
        reviewed(session, shared)
        secret = log_failure(
            session,
            title="Payroll export leaked",
            team="Payments",
            reporter="ana",
            visibility="private",
            people=["ana"],
            viewer=SYSTEM,
        )
        create_lesson(
            session,
            title="Date every dependency",
            learned="A verbal date is a hope",
            failures=[shared.id],
            audience=["Payments"],
            published_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1),
            viewer=SYSTEM,
        )
        return {"shared": shared.id, "secret": secret.id, "team": shared.team_id or 0}


def test_postmortem_printable_and_markdown(as_ana: Browser, app_db: Database) -> None:
    ids = _world(app_db)
    page = as_ana.get(f"/failures/{ids['shared']}").text
    assert f'href="/failures/{ids["shared"]}/postmortem.html"' in page
    html = as_ana.get(f"/failures/{ids['shared']}/postmortem.html")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "Vendor date slipped the launch" in html.text and "<style>" in html.text
    assert "script-src" not in html.headers["content-security-policy"]  # default-src 'none'
    assert "'unsafe-inline'" in html.headers["content-security-policy"]  # its own print style only
    md = as_ana.get(f"/failures/{ids['shared']}/postmortem.md")
    assert md.headers["content-type"].startswith("text/markdown")
    assert "attachment" in md.headers["content-disposition"] and md.text.startswith("# ")
    assert as_ana.get(f"/failures/{ids['shared']}/postmortem.pdf").status_code == 422


def test_postmortem_of_a_failure_you_may_not_see_is_404(app_db: Database, as_ana: Browser) -> None:
    ids = _world(app_db)
    ben = another_browser(app_db, "ben")  # a Payments member, not involved in the private one
    assert ben.get(f"/failures/{ids['secret']}/postmortem.html").status_code == 404
    assert ben.get(f"/failures/{ids['shared']}/postmortem.html").status_code == 200


def test_team_digest_for_members_only(app_db: Database, as_ana: Browser) -> None:
    ids = _world(app_db)
    week_ending = (TODAY + dt.timedelta(days=1)).isoformat()
    team_page = as_ana.get(f"/teams/{ids['team']}").text
    assert f'href="/teams/{ids["team"]}/digest.html"' in team_page
    digest = as_ana.get(f"/teams/{ids['team']}/digest.html", params={"week_ending": week_ending})
    assert digest.status_code == 200 and "Date every dependency" in digest.text
    assert "Payroll export leaked" not in digest.text  # as a plain member sees it: never private
    md = as_ana.get(f"/teams/{ids['team']}/digest.md", params={"week_ending": week_ending})
    assert "Date every dependency" in md.text
    cara = another_browser(app_db, "cara")  # Growth: not a Payments member, not an org admin
    assert cara.get(f"/teams/{ids['team']}/digest.html").status_code == 404
    assert 'digest.html"' not in cara.get(f"/teams/{ids['team']}").text
    bad = as_ana.get(f"/teams/{ids['team']}/digest.html", params={"week_ending": "soon"})
    assert bad.status_code == 422


def test_the_api_serves_both(app_db: Database, people: None) -> None:
    ids = _world(app_db)
    with app_db.unit() as session:
        ben = {"Authorization": f"Bearer {issue_token(session, 'ben', 't')[1]}"}
        cara = {"Authorization": f"Bearer {issue_token(session, 'cara', 't')[1]}"}
    from lessonloop.app import create_app

    client = TestClient(create_app(database=app_db))
    md = client.get(f"/api/v1/failures/{ids['shared']}/postmortem", headers=ben)
    assert md.status_code == 200 and md.text.startswith("# ")
    html = client.get(f"/api/v1/failures/{ids['shared']}/postmortem", params={"format": "html"}, headers=ben)
    assert html.headers["content-type"].startswith("text/html")
    assert client.get(f"/api/v1/failures/{ids['secret']}/postmortem", headers=ben).status_code == 404
    week = {"week_ending": (TODAY + dt.timedelta(days=1)).isoformat()}
    data = client.get("/api/v1/teams/Payments/digest", params=week, headers=ben).json()
    assert data["team"] == "Payments" and [d["title"] for d in data["lessons"]] == ["Date every dependency"]
    text = client.get("/api/v1/teams/Payments/digest", params={**week, "format": "md"}, headers=ben).text
    assert "Date every dependency" in text
    assert client.get("/api/v1/teams/Payments/digest", headers=cara).status_code == 404
    assert (
        client.get("/api/v1/teams/Payments/digest", params={"format": "pdf"}, headers=ben).status_code == 422
    )
