"""The pages through a TestClient: sign-in, CSRF, field errors, visibility, the loop end to end."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from lessonloop.accounts.service import has_accounts
from lessonloop.actions.models import Action
from lessonloop.coaching.service import write_note
from lessonloop.failures.models import Failure
from lessonloop.failures.service import log_failure
from lessonloop.reviews.models import Review
from lessonloop.store.engine import Database
from lessonloop.web.security import CONTENT_SECURITY_POLICY, SESSION_COOKIE
from tests.factories import SYSTEM
from tests.web.conftest import PASSWORD, Browser, another_browser, csrf_of, day


def count(db: Database, model: type) -> int:
    with db.unit() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def log_private(db: Database, title: str = "Payroll export leaked to a shared drive") -> int:
    with db.unit(actor="test") as session:
        return log_failure(
            session,
            title=title,
            visibility="private",
            team="Payments",
            reporter="ana",
            people=["ana"],
            viewer=SYSTEM,
        ).id


# -- signing in ---------------------------------------------------------------------------------


def test_every_page_needs_a_session(browser: Browser) -> None:
    for path in ["/", "/failures", "/failures/1", "/actions", "/lessons", "/coaching", "/search?q=x"]:
        response = browser.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login"), path
    assert browser.get("/failures/1", follow_redirects=False).headers["location"] == "/login?next=/failures/1"
    assert browser.get("/login").status_code == 200


def test_login_sets_a_hardened_cookie_and_logout_ends_the_session(browser: Browser) -> None:
    response = browser.login("ana")
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie.split(f"{SESSION_COOKIE}=")[1].split(",")[0]  # plain http here
    assert "Ana Lead" in browser.get("/").text
    session_id = browser.client.cookies[SESSION_COOKIE]
    assert session_id not in response.headers.get("location", "")  # never in a URL

    out = browser.post("/logout", {}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    browser.client.cookies.set(SESSION_COOKIE, session_id)  # replaying the old cookie does not work
    assert browser.get("/", follow_redirects=False).headers["location"] == "/login"


def test_the_cookie_is_secure_over_https(client: TestClient, people: None) -> None:
    secure = Browser(TestClient(client.app, base_url="https://testserver"))
    cookie = secure.login("ben").headers["set-cookie"]
    assert "Secure" in cookie.split(f"{SESSION_COOKIE}=")[1].split(",")[0]


def test_wrong_passwords_lock_the_account(browser: Browser) -> None:
    for _ in range(4):
        refused = browser.login("ben", "not the password")
        assert refused.status_code == 403 and "wrong password" in refused.text
        assert 'value="ben"' in refused.text  # the handle is kept, the password is not
    locked = browser.login("ben", "not the password")
    assert "locked" in locked.text
    still = browser.login("ben", PASSWORD)  # sign_in committed the lock: the right password waits too
    assert still.status_code == 403 and "locked until" in still.text


def test_password_spraying_from_one_address_is_slowed_down(browser: Browser) -> None:
    """One wrong password for many accounts locks none of them; the address is throttled instead."""
    throttle = browser.client.app.state.login_throttle  # type: ignore[attr-defined]
    throttle.max_failures = 3
    for handle in ("ana", "ben", "gil"):
        assert browser.login(handle, "Winter2026!").status_code == 403
    refused = browser.login("cara", PASSWORD)  # even the right password waits
    assert refused.status_code == 429 and "Too many failed sign-ins" in refused.text
    assert int(refused.headers["retry-after"]) > 0
    assert 'value="cara"' in refused.text and PASSWORD not in refused.text
    other = Browser(TestClient(browser.client.app, client=("10.9.8.7", 5000)))
    assert other.login("cara").status_code == 303  # another address is not affected


def test_next_goes_back_to_a_local_page_only(browser: Browser) -> None:
    page = browser.get("/login?next=//evil.example/x")
    response = browser.client.post(
        "/login",
        data={
            "handle": "ana",
            "password": PASSWORD,
            "csrf_token": csrf_of(page.text),
            "next": "//evil.example",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"
    page = browser.get("/login")
    response = browser.client.post(
        "/login",
        data={"handle": "ana", "password": PASSWORD, "csrf_token": csrf_of(page.text), "next": "/lessons"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/lessons"


def test_first_run_creates_the_first_admin_once(client: TestClient, app_db: Database) -> None:
    browser = Browser(client)
    assert browser.get("/login", follow_redirects=False).headers["location"] == "/setup"
    page = browser.get("/setup")
    assert "first account" in page.text
    form = {
        "name": "Olu Admin",
        "handle": "olu",
        "email": "",
        "password": "short",
        "password_confirm": "short",
    }
    refused = client.post("/setup", data={**form, "csrf_token": csrf_of(page.text)})
    assert refused.status_code == 422 and "at least 10 characters" in refused.text
    assert 'value="Olu Admin"' in refused.text
    form.update(password=PASSWORD, password_confirm=PASSWORD)
    created = client.post("/setup", data={**form, "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert created.status_code == 303 and SESSION_COOKIE in created.headers["set-cookie"]
    assert "Olu Admin" in browser.get("/").text and "/admin/accounts" in browser.get("/").text
    with app_db.unit() as session:
        assert has_accounts(session)
    assert browser.get("/setup", follow_redirects=False).headers["location"] == "/login"


# -- CSRF and headers ----------------------------------------------------------------------------


def test_posts_without_the_csrf_token_are_refused(as_ana: Browser, app_db: Database) -> None:
    client = as_ana.client
    no_token = client.post("/failures", data={"title": "Forged"})
    assert no_token.status_code == 403 and "security token" in no_token.text
    wrong = client.post("/failures", data={"title": "Forged", "csrf_token": "0" * 64})
    assert wrong.status_code == 403
    assert count(app_db, Failure) == 0
    fresh = Browser(TestClient(client.app))
    assert fresh.client.post("/login", data={"handle": "ana", "password": PASSWORD}).status_code == 403
    ok = as_ana.post("/failures", {"title": "Real"}, form_page="/failures/new", follow_redirects=False)
    assert ok.status_code == 303 and count(app_db, Failure) == 1


def test_the_csrf_token_is_per_session(as_ana: Browser, app_db: Database) -> None:
    token = csrf_of(as_ana.get("/").text)
    other = another_browser(app_db, "ben")
    assert csrf_of(other.get("/").text) != token
    stolen = other.client.post("/failures", data={"title": "Cross", "csrf_token": token})
    assert stolen.status_code == 403


def test_pages_send_a_strict_csp_and_the_api_keeps_its_own(as_ana: Browser) -> None:
    page = as_ana.get("/")
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY and "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text and " style=" not in page.text and " on" + "click=" not in page.text
    api = as_ana.get("/api/v1/teams")
    assert api.headers.get("content-security-policy") != CONTENT_SECURITY_POLICY


# -- forms keep what was typed ----------------------------------------------------------------------


def test_a_refused_log_shows_the_error_beside_the_field_and_keeps_the_values(
    as_ana: Browser, app_db: Database
) -> None:
    response = as_ana.post(
        "/failures",
        {
            "title": "",
            "observation": "The export ran twice",
            "labels": "billing",
            "occurred_at": "2026-13-01",
        },
        form_page="/failures/new",
    )
    assert response.status_code == 422
    html = response.text
    assert 'id="f-title-error"' in html and "is required" in html
    assert 'aria-invalid="true"' in html
    assert "The export ran twice</textarea>" in html and 'value="billing"' in html
    assert count(app_db, Failure) == 0

    bad_date = as_ana.post(
        "/failures", {"title": "Export ran twice", "occurred_at": "2026-13-01"}, form_page="/failures/new"
    )
    assert bad_date.status_code == 422
    error = re.search(r'id="f-occurred_at-error">(.*?)</p>', bad_date.text, re.S)
    assert error and "date" in error.group(1)
    assert 'value="Export ran twice"' in bad_date.text and 'value="2026-13-01"' in bad_date.text

    unknown = as_ana.post(
        "/failures", {"title": "Export ran twice", "people": "zed"}, form_page="/failures/new"
    )
    assert unknown.status_code == 422 and 'id="f-people-error"' in unknown.text and "zed" in unknown.text


def test_an_action_with_a_bad_date_keeps_the_form_open_with_the_error(
    as_ana: Browser, app_db: Database
) -> None:
    fid = as_ana.post(
        "/failures", {"title": "Invoices sent twice"}, form_page="/failures/new"
    ).url.path.split("/")[-1]
    response = as_ana.post(
        f"/failures/{fid}/actions",
        {"title": "Add an idempotency key to the invoice job", "owner": "ben", "due_date": "next week"},
        form_page=f"/failures/{fid}",
    )
    assert response.status_code == 422
    assert 'id="act-due_date-error"' in response.text and 'value="next week"' in response.text
    assert 'value="Add an idempotency key to the invoice job"' in response.text
    assert count(app_db, Action) == 0


# -- visibility --------------------------------------------------------------------------------------


def test_a_private_failure_is_a_404_for_others_and_absent_from_their_lists(
    as_ana: Browser, app_db: Database
) -> None:
    fid = log_private(app_db)
    assert as_ana.get(f"/failures/{fid}").status_code == 200  # the reporter

    ben = another_browser(app_db, "ben")  # a member of the same team, not a lead
    for path in [f"/failures/{fid}", f"/failures/{fid}/review", f"/failures/{fid}/review/assumption"]:
        response = ben.get(path)
        assert response.status_code == 404, path
        assert "Payroll" not in response.text
    assert "Payroll" not in ben.get("/failures").text
    assert "Payroll" not in ben.get("/search?q=payroll").text
    assert "Payroll" not in ben.get("/").text
    blocked = ben.post(f"/failures/{fid}/actions", {"title": "x", "owner": "ben", "due_date": day(3)})
    assert blocked.status_code == 404
    assert count(app_db, Action) == 0

    assert "Payroll" in as_ana.get("/search?q=payroll").text


def test_a_member_may_see_but_not_change_a_team_failure(as_ana: Browser, app_db: Database) -> None:
    with app_db.unit(actor="test") as session:
        fid = log_failure(
            session, title="Refunds stuck for a day", team="Payments", reporter="ana", viewer=SYSTEM
        ).id
    ben = another_browser(app_db, "ben")
    page = ben.get(f"/failures/{fid}")
    assert page.status_code == 200 and "Start the review" not in page.text
    assert ben.get(f"/failures/{fid}/review/assumption").status_code == 403
    cara = another_browser(app_db, "cara")  # another team: a team failure is not hers to see
    assert cara.get(f"/failures/{fid}").status_code == 404


def test_coaching_notes_are_seen_by_author_and_subject_only(as_ana: Browser, app_db: Database) -> None:
    with app_db.unit(actor="test") as session:
        write_note(
            session, author="gil", subject="cara", body="Great instinct on the rollback call", viewer=SYSTEM
        )
    gil = another_browser(app_db, "gil")
    cara = another_browser(app_db, "cara")
    assert "Great instinct" in gil.get("/coaching").text
    assert "Great instinct" in cara.get("/coaching").text
    assert "Great instinct" in cara.get("/people/cara").text
    # ana is an org admin and a lead, but not of cara: she never sees it
    assert "Great instinct" not in as_ana.get("/coaching").text
    assert "Great instinct" not in as_ana.get("/people/cara").text
    assert "Write Cara a private coaching note" in gil.get("/people/cara").text
    assert "private coaching note" not in as_ana.get("/people/cara").text

    refused = as_ana.post("/coaching/notes", {"subject": "cara", "body": "hello"}, form_page="/coaching")
    assert refused.status_code == 403
    written = gil.post("/coaching/notes", {"subject": "cara", "body": "Pair on the next incident review"})
    assert written.status_code == 200 and "only the two of you" in written.text


def test_admin_pages_are_for_org_admins(as_ana: Browser, app_db: Database) -> None:
    assert as_ana.get("/admin/accounts").status_code == 200
    assert another_browser(app_db, "ben").get("/admin/accounts").status_code == 403
    created = as_ana.post(
        "/admin/accounts",
        {"name": "Dee New", "handle": "dee", "email": "", "password": PASSWORD},
        form_page="/admin/accounts",
    )
    assert created.status_code == 200 and "can now sign in as dee" in created.text
    assert another_browser(app_db, "dee").get("/").status_code == 200


# -- the loop ----------------------------------------------------------------------------------------


def test_the_review_wizard_asks_one_question_at_a_time_and_coaches(as_ana: Browser, app_db: Database) -> None:
    created = as_ana.post(
        "/failures",
        {"title": "Partner launch slipped three weeks", "team": "1", "people": "ben"},
        form_page="/failures/new",
    )
    fid = int(created.url.path.split("/")[-1])
    first = as_ana.get(f"/failures/{fid}/review")
    assert first.url.path == f"/failures/{fid}/review/assumption"
    assert "Which assumption guided the decision?" in first.text
    assert "What evidence did we have?" not in first.text  # one question per page

    url = f"/failures/{fid}/review/assumption"
    blamed = as_ana.post(
        url, {"assumption_text": "Ben was careless and should have known better"}, form_page=url
    )
    assert blamed.status_code == 200 and blamed.url.path == url  # shown again with the coach's hints
    assert "The coach noticed" in blamed.text and "careless" in blamed.text
    coached = re.search(r'name="coached" value="([0-9a-f]+)"', blamed.text)
    assert coached
    onward = as_ana.post(
        url,
        {"assumption_text": "Ben was careless and should have known better", "coached": coached.group(1)},
        form_page=url,
    )
    assert onward.url.path == f"/failures/{fid}/review/evidence"  # "continue anyway"

    answers = [
        ("assumption", {"assumption_text": "The vendor would deliver by sprint 3, as promised on a call"}),
        ("evidence", {"evidence": "A verbal promise; no written date"}),
        ("changed", {"what_changed": "The vendor re-planned after a reorg"}),
        ("cause", {"root_cause": "No dated commitment or fallback for a critical dependency"}),
    ]
    for key, data in answers:
        step = f"/failures/{fid}/review/{key}"
        as_ana.post(step, data, form_page=step)
    gap = f"/failures/{fid}/review/gap"
    too_long = as_ana.post(gap, {"gap_type": "process", "gap_justification": "x\ny"}, form_page=gap)
    assert too_long.status_code == 422 and 'id="f-gap_justification-error"' in too_long.text
    assert as_ana.post(
        gap, {"gap_type": "process", "gap_justification": "No kickoff step asks for dates"}, form_page=gap
    ).url.path.endswith("/action")

    action = f"/failures/{fid}/review/action"
    missing_owner = as_ana.post(
        action,
        {"title": "Add a dated-dependency check to the kickoff checklist", "owner": "", "due_date": day(7)},
        form_page=action,
    )
    assert missing_owner.status_code == 422 and 'id="f-owner-error"' in missing_owner.text
    assert 'value="Add a dated-dependency check to the kickoff checklist"' in missing_owner.text
    vague = as_ana.post(
        action, {"title": "Be more careful", "owner": "ben", "due_date": day(7)}, form_page=action
    )
    assert "Specificity" in vague.text and count(app_db, Action) == 0
    done = as_ana.post(
        action,
        {
            "title": "Add a dated-dependency check to the kickoff checklist",
            "owner": "ben",
            "due_date": day(7),
        },
        form_page=action,
    )
    assert done.url.path == f"/failures/{fid}" and "Review completed" in done.text
    with app_db.unit() as session:
        review = session.scalar(select(Review))
        assert review is not None and review.status == "completed" and review.gap_type == "process"
        assert session.get(Failure, fid).status == "acting"  # type: ignore[union-attr]


def test_done_with_evidence_through_htmx_returns_the_card(as_ana: Browser, app_db: Database) -> None:
    fid = int(
        as_ana.post("/failures", {"title": "Refund job stalled"}, form_page="/failures/new").url.path.split(
            "/"
        )[-1]
    )
    as_ana.post(
        f"/failures/{fid}/actions",
        {
            "title": "Alert when the refund queue is older than 1 hour",
            "owner": "ana",
            "due_date": day(-2),
            "backfill": "yes",
        },
        form_page=f"/failures/{fid}",
    )
    board = as_ana.get("/actions?scope=mine")
    assert "is-overdue" in board.text and "2 days overdue" in board.text
    with app_db.unit() as session:
        action_id = session.scalar(select(Action.id))
    token = csrf_of(board.text)
    headers = {"HX-Request": "true"}
    empty = as_ana.client.post(
        f"/actions/{action_id}/done", data={"csrf_token": token, "evidence": ""}, headers=headers
    )
    assert empty.status_code == 200 and "field-error" in empty.text and "<html" not in empty.text
    done = as_ana.client.post(
        f"/actions/{action_id}/done",
        data={"csrf_token": token, "evidence": "Alert fired in staging"},
        headers=headers,
    )
    assert "Done. Evidence: Alert fired in staging" in done.text and "<html" not in done.text


def test_dashboard_draws_the_charts_server_side(as_ana: Browser) -> None:
    page = as_ana.get("/").text
    assert page.count('<svg class="chart') == 2 and 'role="img"' in page
    assert "Repeat rate per month" in page and "Action drift per month" in page


def test_a_done_action_past_its_review_date_asks_did_this_work(as_ana: Browser, app_db: Database) -> None:
    from lessonloop.actions.service import add_action, complete_action

    with app_db.unit(actor="test") as session:
        f = log_failure(
            session, title="Cache stampede at midnight", team="Payments", reporter="ana", viewer=SYSTEM
        )
        due = add_action(
            session,
            failure_id=f.id,
            title="Jitter the cache TTLs",
            owner="ben",
            due_date=day(-20),
            review_date=day(-1),
            backfill=True,
            viewer=SYSTEM,
        )
        later = add_action(
            session,
            failure_id=f.id,
            title="Alert on miss rate",
            owner="ben",
            due_date=day(-20),
            review_date=day(10),
            backfill=True,
            viewer=SYSTEM,
        )
        for action in (due, later):
            complete_action(session, action.id, evidence="shipped", viewer=SYSTEM)
        fid, due_id, later_id = f.id, due.id, later.id
    page = as_ana.get(f"/failures/{fid}").text
    assert f'<a href="/actions/{due_id}">Did this work?' in page
    assert f'<a href="/actions/{later_id}">The action' in page
    assert as_ana.get(f"/actions/{due_id}").status_code == 200


def _through_the_gap(browser: Browser, fid: int) -> str:
    """The wizard answered up to its last step; that step's address."""
    for key, data in [
        ("assumption", {"assumption_text": "The vendor would deliver by sprint 3, as promised on a call"}),
        ("evidence", {"evidence": "A verbal promise; no written date"}),
        ("changed", {"what_changed": "The vendor re-planned after a reorg"}),
        ("cause", {"root_cause": "No dated commitment or fallback for a critical dependency"}),
        ("gap", {"gap_type": "process", "gap_justification": "No kickoff step asks for dates"}),
    ]:
        step = f"/failures/{fid}/review/{key}"
        browser.post(step, data, form_page=step)
    return f"/failures/{fid}/review/action"


ACTION = {
    "title": "Add a dated-dependency check to the kickoff checklist",
    "owner": "ben",
    "due_date": day(7),
}


def test_the_wizard_back_fills_the_day_the_review_was_held(as_ana: Browser, app_db: Database) -> None:
    new = "/failures/new"
    fid = int(as_ana.post("/failures", {"title": "Vendor slipped"}, form_page=new).url.path.split("/")[-1])
    action = _through_the_gap(as_ana, fid)
    assert 'name="held_at"' in as_ana.get(action).text
    future = as_ana.post(action, {**ACTION, "held_at": day(2)}, form_page=action)
    assert future.status_code == 422 and 'id="f-held_at-error"' in future.text
    assert "must not be in the future" in future.text
    with app_db.unit() as session:
        draft = session.scalar(select(Review))
        assert draft is not None and draft.status == "draft" and count(app_db, Action) == 0  # nothing kept
    done = as_ana.post(action, {**ACTION, "held_at": day(-3)}, form_page=action)
    assert done.url.path == f"/failures/{fid}" and "Review completed" in done.text
    with app_db.unit() as session:
        review = session.scalar(select(Review))
        assert review is not None and review.held_at is not None and review.completed_at is not None
        assert review.held_at.date().isoformat() == day(-3)
        assert review.completed_at.date() == dt.date.today()


def test_without_a_day_the_review_was_held_when_it_was_completed(as_ana: Browser, app_db: Database) -> None:
    new = "/failures/new"
    fid = int(as_ana.post("/failures", {"title": "Vendor slipped"}, form_page=new).url.path.split("/")[-1])
    action = _through_the_gap(as_ana, fid)
    as_ana.post(action, {**ACTION, "held_at": ""}, form_page=action)
    with app_db.unit() as session:
        review = session.scalar(select(Review))
        assert review is not None and review.status == "completed" and review.held_at == review.completed_at
