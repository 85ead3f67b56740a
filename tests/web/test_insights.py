"""The insights page: learning metrics per team and month, their CSV, and escalations."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

from lessonloop.escalations.models import Escalation
from lessonloop.escalations.service import ESCALATIONS_PER_PAGE, EscalationPolicy, check_escalations
from lessonloop.failures.service import log_failure
from lessonloop.store.engine import Database
from lessonloop.web.pages.insights import FAILURE_IDS_SHOWN
from tests.factories import SYSTEM
from tests.web.conftest import Browser, another_browser

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def _pattern(db: Database, *, team: str = "Payments", visibility: str = "team") -> int:
    """Three failures with one cause label in a week: an escalation for the team's lead."""
    with db.unit(actor="test") as session:
        for n in range(3):
            log_failure(
                session,
                title=f"Deploy froze checkout, time {n + 1}",
                team=team,
                reporter="ana" if team == "Payments" else "gil",
                visibility=visibility,
                labels=["deploy-freeze"],
                detected_at=NOW - dt.timedelta(days=n),
                viewer=SYSTEM,
            )
        (escalation,) = check_escalations(session, now=NOW, policy=EscalationPolicy(), viewer=SYSTEM)
        return escalation.id


def test_the_page_shows_metrics_charts_and_the_escalation(as_ana: Browser, app_db: Database) -> None:
    eid = _pattern(app_db)
    page = as_ana.get("/insights")
    assert page.status_code == 200
    html = page.text
    assert page.text.count('<svg class="chart') == 2
    assert "Per team and month" in html and "Payments" in html
    assert "Learning conversion" in html and "Recognition" in html
    assert f'id="escalation-{eid}"' in html and "deploy-freeze" in html
    assert "organisational development specialist" in html or "leadership coach" in html
    # ana leads Payments: she may act on it; the form loads when opened (decision 67)
    assert "Acknowledge, assign or resolve" in html and f'hx-get="/escalations/{eid}"' in html
    assert f'action="/escalations/{eid}"' in as_ana.get(f"/escalations/{eid}").text


def test_filters_narrow_and_a_bad_filter_is_explained(as_ana: Browser, app_db: Database) -> None:
    _pattern(app_db)
    growth = as_ana.get("/insights", params={"team": "Growth"}).text
    assert "No failures in this selection." in growth
    bad = as_ana.get("/insights", params={"since": "last tuesday", "team": "Payments"})
    assert bad.status_code == 422 and "since" in bad.text
    assert 'value="last tuesday"' in bad.text  # what was typed is kept
    unknown = as_ana.get("/insights", params={"team": "Nope"})
    assert unknown.status_code == 422 and "Nope" in unknown.text


def test_csv_download_has_a_row_per_team_month_and_totals(as_ana: Browser, app_db: Database) -> None:
    _pattern(app_db)
    response = as_ana.get("/insights.csv", params={"team": "Payments"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows[-1]["team"] == "(all teams)" and rows[-1]["failures"] == "3"
    assert {r["team"] for r in rows[:-1]} == {"Payments"}
    assert as_ana.get("/insights.csv", params={"until": "soon"}).status_code == 422


def test_acknowledge_then_resolve_needs_a_resolution(as_ana: Browser, app_db: Database) -> None:
    eid = _pattern(app_db)
    done = as_ana.post(f"/escalations/{eid}", {"status": "acknowledged"}, form_page="/insights")
    assert done.status_code == 200 and "updated" in done.text
    refused = as_ana.post(
        f"/escalations/{eid}", {"status": "resolved", "resolution": "  "}, form_page="/insights"
    )
    assert refused.status_code == 422 and "resolution" in refused.text
    resolved = as_ana.post(
        f"/escalations/{eid}",
        {"status": "resolved", "resolution": "Freeze window moved; OD specialist ran a session"},
        form_page="/insights",
    )
    assert resolved.status_code == 200 and "Freeze window moved" in resolved.text
    with app_db.unit() as session:
        escalation = session.get(Escalation, eid)
        assert escalation is not None and escalation.status == "resolved"


def test_other_teams_see_no_form_and_cannot_change_it(app_db: Database, as_ana: Browser) -> None:
    eid = _pattern(app_db, visibility="org")
    cara = another_browser(app_db, "cara")  # a member of Growth: may see org failures, not act
    html = cara.get("/insights").text
    assert f'id="escalation-{eid}"' in html and f'action="/escalations/{eid}"' not in html
    assert f'hx-get="/escalations/{eid}"' not in html  # no form to open either
    alone = cara.get(f"/escalations/{eid}")  # its own page: seen, not changeable
    assert alone.status_code == 200 and f'action="/escalations/{eid}"' not in alone.text
    assert "may change it" in alone.text
    fragment = cara.get(f"/escalations/{eid}", headers={"HX-Request": "true"}).text
    assert "can no longer be changed here" in fragment and "<form" not in fragment
    refused = cara.post(f"/escalations/{eid}", {"status": "acknowledged"}, form_page="/insights")
    assert refused.status_code == 403


def test_a_hidden_pattern_is_not_shown(app_db: Database, as_ana: Browser) -> None:
    eid = _pattern(app_db, visibility="team")
    cara = another_browser(app_db, "cara")  # cannot see Payments' team failures
    html = cara.get("/insights").text
    assert f'id="escalation-{eid}"' not in html and "deploy-freeze" not in html
    assert cara.get(f"/escalations/{eid}").status_code == 404  # nor on a page of its own
    assert (
        cara.post(f"/escalations/{eid}", {"status": "acknowledged"}, form_page="/insights").status_code == 404
    )


def test_the_dashboard_drift_chart_and_overdue_count_agree(app_db: Database, browser: Browser) -> None:
    """Late actions: the drift chart's still-overdue figure and the dashboard's overdue count are
    the same actions; one dropped after its due date counts as late, not overdue."""
    import re

    from lessonloop.actions.models import Action
    from lessonloop.actions.service import add_action, drop_action
    from tests.web.conftest import day

    with app_db.unit(actor="test") as session:
        f = log_failure(session, title="Refunds stalled", team="Payments", visibility="team", viewer=SYSTEM)
        add_action(
            session,
            failure_id=f.id,
            title="Add a refund alert",
            owner="ben",
            due_date=day(-3),
            backfill=True,
            viewer=SYSTEM,
        )
        dropped = add_action(
            session,
            failure_id=f.id,
            title="Add a refund check",
            owner="ben",
            due_date=day(-4),
            backfill=True,
            viewer=SYSTEM,
        )
        drop_action(session, dropped.id, reason="moot", viewer=SYSTEM)
        action = session.get(Action, dropped.id)
        assert action is not None
        action.closed_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)  # a day late (due 4 days ago)
    browser.login("ben")
    html = browser.get("/").text
    listed = re.search(r'id="h-overdue">[^<]*<span class="count">(\d+)</span>', html)
    charted = re.search(r'class="chart-overdue-now">(\d+)</span>', html)
    assert listed is not None and charted is not None
    assert listed.group(1) == charted.group(1) == "1"
    late = sum(int(n) for n in re.findall(r"due actions late, (\d+) still overdue", html))
    assert late == 1
    assert re.search(r"\(2 of 2 due actions late, 1 still overdue\)|\(1 of 1 due actions late", html)


def test_escalations_come_a_page_at_a_time(as_ana: Browser, app_db: Database) -> None:
    # Decision 66: the page shows ESCALATIONS_PER_PAGE escalations and links to the older ones;
    # an escalation lists its first failures and how many more.
    eid = _pattern(app_db)
    with app_db.unit(actor="test") as session:
        base = session.get(Escalation, eid)
        assert base is not None
        many = list(base.failure_ids) * 15  # 45 ids: more than the page lists
        for n in range(ESCALATIONS_PER_PAGE + 2):
            session.add(
                Escalation(
                    rule="label",
                    subject_key=f"p{n}",
                    subject=f"pattern number {n}",
                    team_id=base.team_id,
                    support_route=base.support_route,
                    failure_ids=many if n == ESCALATIONS_PER_PAGE + 1 else list(base.failure_ids),
                    count=3,
                    window_days=30,
                    explanation="x",
                    opened_at=NOW - dt.timedelta(days=30 + n),
                )
            )
    first = as_ana.get("/insights", params={"team": "Payments"}).text
    assert first.count('class="item escalation"') == ESCALATIONS_PER_PAGE
    assert f'id="escalation-{eid}"' in first  # the newest first
    assert "Older escalations" in first and "Newer escalations" not in first
    older = re.search(r'href="([^"]*escalations_page=2[^"]*)"', first)
    assert older is not None and "team=Payments" in older.group(1)  # the filters are kept
    second = as_ana.get(older.group(1).replace("&amp;", "&")).text
    assert second.count('class="item escalation"') == 3
    assert re.search(r"pattern number 0\b", first) and not re.search(r"pattern number 0\b", second)
    assert "pattern number 21" in second and "pattern number 21" not in first
    assert "Newer escalations" in second and "Older escalations" not in second
    assert f"and {45 - FAILURE_IDS_SHOWN} more" in second
    assert as_ana.get("/insights", params={"escalations_page": "0"}).status_code == 422
    assert "No more escalations" in as_ana.get("/insights", params={"escalations_page": "9"}).text


def test_a_form_with_a_problem_is_shown_even_when_on_a_later_page(as_ana: Browser, app_db: Database) -> None:
    eid = _pattern(app_db)
    with app_db.unit(actor="test") as session:
        base = session.get(Escalation, eid)
        assert base is not None
        for n in range(ESCALATIONS_PER_PAGE):
            session.add(
                Escalation(
                    rule="label",
                    subject_key=f"q{n}",
                    subject=f"newer pattern {n}",
                    team_id=base.team_id,
                    support_route=base.support_route,
                    failure_ids=list(base.failure_ids),
                    count=3,
                    window_days=30,
                    explanation="x",
                    opened_at=NOW + dt.timedelta(minutes=n + 1),
                )
            )
    assert f'id="escalation-{eid}"' not in as_ana.get("/insights").text  # now on page 2
    refused = as_ana.post(
        f"/escalations/{eid}",
        {"status": "resolved", "resolution": "  "},
        form_page="/insights?escalations_page=2",
    )
    assert refused.status_code == 422 and f'id="escalation-{eid}"' in refused.text


def test_saving_leads_to_the_escalations_own_page_with_its_history(as_ana: Browser, app_db: Database) -> None:
    # Back on the insights page it may be on a later page of escalations; its own page always has it.
    eid = _pattern(app_db)
    done = as_ana.post(
        f"/escalations/{eid}", {"status": "acknowledged"}, form_page="/insights", follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == f"/escalations/{eid}"
    page = as_ana.get(f"/escalations/{eid}", params={"history": "1"}).text
    assert f'id="escalation-{eid}-history" open' in page
    assert "<del>open</del> → <ins>acknowledged</ins>" in page and "deploy-freeze" in page
    assert "Ana Lead (ana)</strong> changed Escalation" in page


def test_a_problem_on_the_escalations_own_page_is_shown_there(as_ana: Browser, app_db: Database) -> None:
    eid = _pattern(app_db)
    own = as_ana.get(f"/escalations/{eid}").text
    assert 'name="from" value="page"' in own
    assert 'name="from"' not in as_ana.get(f"/escalations/{eid}", headers={"HX-Request": "true"}).text
    refused = as_ana.post(
        f"/escalations/{eid}",
        {"status": "resolved", "resolution": "  ", "from": "page"},
        form_page=f"/escalations/{eid}",
    )
    assert refused.status_code == 422 and "resolution" in refused.text
    assert f"<title>Escalation {eid}" in refused.text and "Per team and month" not in refused.text
    # posted from the insights page it comes back there, the form open
    back = as_ana.post(
        f"/escalations/{eid}", {"status": "resolved", "resolution": "  "}, form_page="/insights"
    )
    assert back.status_code == 422 and "Per team and month" in back.text
