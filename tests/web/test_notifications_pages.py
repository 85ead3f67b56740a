"""Notifications, channels, calendar feeds and "did this work?" in the pages."""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import select

from lessonloop.actions.service import add_action, complete_action
from lessonloop.calendars.models import CalendarToken
from lessonloop.failures.service import log_failure
from lessonloop.notifications.models import Notification
from lessonloop.notifications.service import enqueue, get_preferences
from lessonloop.people.service import get_person, get_team
from lessonloop.store.engine import Database
from lessonloop.web.pages.notifications import link_for
from lessonloop.worker.models import ActionCheck
from tests.factories import SYSTEM
from tests.web.conftest import Browser, another_browser, csrf_of

_FEED = re.compile(r'id="new-feed-url" type="text" readonly value="([^"]+)"')


def notify(db: Database, handle: str, subject: str, key: str | None = None) -> int:
    with db.unit(actor="test") as session:
        n = enqueue(
            session,
            person_id=get_person(session, handle, viewer=SYSTEM).id,
            kind="reminder",
            subject=subject,
            body_text=f"About: {subject}",
            dedupe_key=key or f"test:{handle}:{subject}",
            viewer=SYSTEM,
        )
        assert n is not None
        return n.id


def done_action(
    db: Database, *, owner: str = "ana", review_in_days: int = -1, visibility: str = "team"
) -> int:
    """A done action of a Payments failure, its review date ``review_in_days`` from today."""
    today = dt.date.today()
    with db.unit(actor="test") as session:
        f = log_failure(
            session,
            title="Refund job stalled overnight",
            team="Payments",
            reporter="ana",
            visibility=visibility,
            viewer=SYSTEM,
        )
        review = today + dt.timedelta(days=review_in_days)
        action = add_action(
            session,
            failure_id=f.id,
            title="Alert when the refund queue is older than 1 hour",
            owner=owner,
            due_date=min(review, today) - dt.timedelta(days=3),
            review_date=review,
            backfill=True,
            viewer=SYSTEM,
        )
        complete_action(session, action.id, evidence="Alert fired in staging", viewer=SYSTEM)
        return action.id


# -- notifications ---------------------------------------------------------------------------------


def test_the_notifications_page_lists_mine_with_a_badge_and_marks_read(
    as_ana: Browser, app_db: Database
) -> None:
    aid = done_action(app_db)
    first = notify(app_db, "ana", "Did this work? Action", key=f"review-check:action:{aid}:2026-05-21")
    second = notify(app_db, "ana", "Second reminder")
    notify(app_db, "ben", "Ben's only")

    home = as_ana.get("/")
    assert 'badge-unread">2<' in home.text  # the nav badge, on every page
    page = as_ana.get("/notifications")
    assert page.status_code == 200 and "Second reminder" in page.text and "Ben's only" not in page.text
    assert page.text.index("Second reminder") < page.text.index("Did this work? Action")  # newest first
    assert f'href="/actions/{aid}"' in page.text  # the prompt links to the action

    read = as_ana.post(f"/notifications/{first}/read", {}, form_page="/notifications", follow_redirects=False)
    assert read.status_code == 303 and read.headers["location"] == "/notifications"
    unread = as_ana.get("/notifications?show=unread")
    assert "Second reminder" in unread.text and "Did this work? Action" not in unread.text
    assert 'badge-unread">1<' in unread.text

    done = as_ana.post("/notifications/read-all", {}, form_page="/notifications")
    assert "1 notification marked read." in done.text and "badge-unread" not in done.text
    assert "Nothing unread." in as_ana.get("/notifications?show=unread").text
    with app_db.unit() as session:
        assert session.get(Notification, second) is not None
        assert session.get(Notification, second).read_at is not None  # type: ignore[union-attr]


def test_someone_elses_notification_is_a_404_page(as_ana: Browser, app_db: Database) -> None:
    bens = notify(app_db, "ben", "Ben's only")
    refused = as_ana.post(f"/notifications/{bens}/read", {}, form_page="/notifications")
    assert refused.status_code == 404 and "Not found" in refused.text
    with app_db.unit() as session:
        assert session.get(Notification, bens).read_at is None  # type: ignore[union-attr]


def test_posts_without_the_csrf_token_are_refused_once(as_ana: Browser, app_db: Database) -> None:
    nid = notify(app_db, "ana", "Keep me unread")
    aid = done_action(app_db)
    for path, data in [
        (f"/notifications/{nid}/read", {}),
        ("/notifications/read-all", {}),
        ("/account/notifications", {"channels": "email"}),
        ("/account/calendar-feeds", {}),
        (f"/actions/{aid}/check", {"worked": "yes"}),
    ]:
        refused = as_ana.client.post(path, data=data)
        assert refused.status_code == 403 and "Form expired" in refused.text, path
        assert as_ana.client.post(path, data={**data, "csrf_token": "forged"}).status_code == 403
    with app_db.unit() as session:
        assert session.get(Notification, nid).read_at is None  # type: ignore[union-attr]
        assert session.scalar(select(CalendarToken.id)) is None
        assert session.scalar(select(ActionCheck.id)) is None
        assert get_preferences(session, get_person(session, "ana", viewer=SYSTEM).id, viewer=SYSTEM) is None
    # the same form with its token goes through
    ok = as_ana.post(f"/notifications/{nid}/read", {}, form_page="/notifications", follow_redirects=False)
    assert ok.status_code == 303


# -- the account: channels ---------------------------------------------------------------------------


def test_channels_are_saved_and_errors_show_beside_the_field_with_values_kept(
    as_ana: Browser, app_db: Database
) -> None:
    page = as_ana.get("/account")
    assert page.status_code == 200 and "Leave empty to use ana@example.com" in page.text
    bad = as_ana.post(
        "/account/notifications",
        {
            "channels": ["email", "webhook"],
            "email": "not-an-address",
            "webhook_url": "https://hooks.example.com/x",
        },
        form_page="/account",
    )
    assert bad.status_code == 422
    assert 'id="prefs-email-error"' in bad.text and "is not an e-mail address" in bad.text
    assert 'value="not-an-address"' in bad.text and 'value="https://hooks.example.com/x"' in bad.text
    assert re.search(r'id="prefs-webhook" name="channels" value="webhook" checked', bad.text)
    no_url = as_ana.post(
        "/account/notifications", {"channels": "webhook", "webhook_url": ""}, form_page="/account"
    )
    assert (
        no_url.status_code == 422
        and 'id="prefs-webhook_url-error"' in no_url.text
        and "needs a URL" in no_url.text
    )
    with app_db.unit() as session:
        assert (
            get_preferences(session, get_person(session, "ana", viewer=SYSTEM).id, viewer=SYSTEM) is None
        )  # nothing half-saved

    saved = as_ana.post(
        "/account/notifications",
        {"channels": ["email", "webhook"], "email": "", "webhook_url": "https://hooks.example.com/x"},
        form_page="/account",
    )
    assert saved.status_code == 200 and "Notification channels saved." in saved.text
    assert re.search(r'id="prefs-email" name="channels" value="email" checked', saved.text)
    with app_db.unit() as session:
        pref = get_preferences(session, get_person(session, "ana", viewer=SYSTEM).id, viewer=SYSTEM)
        assert pref is not None and pref.channel_set == {"in-app", "email", "webhook"}
    off = as_ana.post("/account/notifications", {"email": "", "webhook_url": ""}, form_page="/account")
    assert "Notification channels saved." in off.text
    with app_db.unit() as session:
        assert get_preferences(
            session, get_person(session, "ana", viewer=SYSTEM).id, viewer=SYSTEM
        ).channel_set == {"in-app"}  # type: ignore[union-attr]


# -- the account: calendar feeds ---------------------------------------------------------------------


def test_my_feed_url_is_shown_once_works_and_is_revoked(as_ana: Browser, app_db: Database) -> None:
    done_action(app_db, review_in_days=5)
    made = as_ana.post("/account/calendar-feeds", {"team": ""}, form_page="/account")
    assert made.status_code == 201 and "shown only this once" in made.text
    assert made.headers["cache-control"] == "no-store"
    url = _FEED.search(made.text)
    assert url, made.text
    path = url.group(1).split("testserver", 1)[1]
    assert path.startswith("/calendar/cal_") and path.endswith(".ics")
    feed = as_ana.client.get(path)
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    assert "Review: did it work?" in feed.text

    again = as_ana.get("/account")
    assert "Mine (Ana Lead)" in again.text and path[len("/calendar/") : -4] not in again.text  # never again
    with app_db.unit() as session:
        token_id = session.scalar(select(CalendarToken.id))
    # someone else cannot revoke it: the 404 page, and the feed still works
    ben = another_browser(app_db, "ben")
    assert "Mine (Ana Lead)" not in ben.get("/account").text
    assert ben.post(f"/account/calendar-feeds/{token_id}/revoke", {}, form_page="/account").status_code == 404
    assert as_ana.client.get(path).status_code == 200
    revoked = as_ana.post(f"/account/calendar-feeds/{token_id}/revoke", {}, form_page="/account")
    assert revoked.status_code == 200 and "is revoked" in revoked.text
    assert as_ana.client.get(path).status_code == 404


def test_team_feeds_are_offered_to_leads_only(as_ana: Browser, app_db: Database) -> None:
    page = as_ana.get("/account")
    assert (
        'id="feed-team"' in page.text and ">Payments<" in page.text
    )  # ana leads Payments (and is org admin)
    with app_db.unit() as session:
        team_id = get_team(session, "Payments", viewer=SYSTEM).id
    made = as_ana.post("/account/calendar-feeds", {"team": str(team_id)}, form_page="/account")
    assert made.status_code == 201 and "Team Payments" in made.text and _FEED.search(made.text)

    ben = another_browser(app_db, "ben")  # a member: only his own feed
    page = ben.get("/account")
    assert (
        'id="feed-team"' not in page.text
        and "Create my feed" in page.text
        and "Team Payments" not in page.text
    )
    refused = ben.post("/account/calendar-feeds", {"team": str(team_id)}, form_page="/account")
    assert (
        refused.status_code == 422 and "only the team" in refused.text and "feed-team-error" in refused.text
    )
    assert not _FEED.search(refused.text)


# -- "did this work?" on the action card --------------------------------------------------------------


def test_did_this_work_on_the_card_records_the_answer_and_shows_the_latest(
    as_ana: Browser, app_db: Database
) -> None:
    aid = done_action(app_db, review_in_days=-1)
    board = as_ana.get("/actions?scope=mine")
    assert "Did this work?" in board.text and f'action="/actions/{aid}/check"' in board.text

    # no answer chosen: the error beside the radio buttons, the note kept
    missing = as_ana.post(f"/actions/{aid}/check", {"note": "fewer stalls"}, form_page=f"/actions/{aid}")
    assert missing.status_code == 422
    assert f'id="chk-{aid}-worked-error"' in missing.text and "fewer stalls</textarea>" in missing.text

    answered = as_ana.post(
        f"/actions/{aid}/check",
        {"worked": "partly", "note": "fewer stalls, not none"},
        form_page=f"/actions/{aid}",
    )
    assert answered.status_code == 200 and "worked — partly" in answered.text
    assert "Did it work? <strong>partly</strong> — fewer stalls, not none" in answered.text

    # through htmx: the card alone comes back, with the new latest answer
    token = csrf_of(as_ana.get("/actions?scope=mine").text)
    card = as_ana.client.post(
        f"/actions/{aid}/check",
        data={"csrf_token": token, "worked": "yes", "note": "no stall since", "scope": "mine"},
        headers={"HX-Request": "true"},
    )
    assert card.status_code == 200 and "<html" not in card.text
    assert "Did it work? <strong>yes</strong> — no stall since" in card.text
    page = as_ana.get(f"/actions/{aid}")
    assert page.text.index("no stall since") < page.text.index("fewer stalls, not none")  # newest first
    with app_db.unit() as session:
        assert [c.worked for c in session.scalars(select(ActionCheck).order_by(ActionCheck.id))] == [
            "partly",
            "yes",
        ]


def test_the_question_waits_for_the_review_date_and_for_someone_who_may_answer(
    as_ana: Browser, app_db: Database
) -> None:
    later = done_action(app_db, review_in_days=10)
    page = as_ana.get(f"/actions/{later}")
    assert f'action="/actions/{later}/check"' not in page.text and "opens on its review date" in page.text
    # cara (Growth) may see an org failure's action but not answer for it: no form, a 403 if forced
    org = done_action(app_db, review_in_days=-2, visibility="org")
    cara = another_browser(app_db, "cara")
    page = cara.get(f"/actions/{org}")
    assert page.status_code == 200 and f'action="/actions/{org}/check"' not in page.text
    assert f'action="/actions/{org}/check"' not in cara.get("/actions").text
    assert cara.post(f"/actions/{org}/check", {"worked": "yes"}, form_page="/actions").status_code == 403
    # and a team failure of another team is a 404
    assert cara.get(f"/actions/{later}").status_code == 404
    with app_db.unit() as session:
        assert session.scalar(select(ActionCheck.id)) is None


def test_an_escalation_notice_opens_the_escalations_own_page() -> None:
    # Not the insights page: since escalations are paged it may be on a later page there.
    for key in ("escalation:7:opened", "escalation:7:grew:4411"):
        assert link_for(cast(Any, SimpleNamespace(dedupe_key=key))) == "/escalations/7"
