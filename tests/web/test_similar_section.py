"""The failure page's "have we seen this before?" section, loaded after the page (decision 64):
the page names where it comes from, the section obeys the same policy as the page, and it works
without JavaScript."""

from __future__ import annotations

import re

from sqlalchemy import select

from lessonloop.failures.models import Failure
from lessonloop.failures.service import log_failure
from lessonloop.store.engine import Database
from tests.factories import SYSTEM
from tests.web.conftest import Browser, another_browser

HTMX = {"HX-Request": "true"}


def log(
    db: Database, title: str, *, visibility: str = "team", reporter: str = "ben", team: str = "Payments"
) -> int:
    with db.unit(actor="test") as session:
        return log_failure(
            session,
            title=title,
            observation=f"{title}. The nightly settlement batch stopped half way and merchants were paid late.",
            visibility=visibility,
            team=team,
            reporter=reporter,
            viewer=SYSTEM,
        ).id


def section_links(html: str) -> list[int]:
    section = html[html.index('id="similar"') :]
    return [int(i) for i in re.findall(r'href="/failures/(\d+)"', section)]


def test_the_page_shows_the_failure_first_and_asks_for_the_section(as_ana: Browser, app_db: Database) -> None:
    log(app_db, "Settlement batch stopped before payouts")
    now = log(app_db, "Settlement batch stopped before payouts again")
    page = as_ana.get(f"/failures/{now}")
    assert page.status_code == 200
    assert f'hx-get="/failures/{now}/similar"' in page.text and 'hx-trigger="load"' in page.text
    # without JavaScript the placeholder is a link to the section as a page
    assert f'<a href="/failures/{now}/similar">' in page.text


def test_the_section_lists_similar_failures_the_person_may_see(as_ana: Browser, app_db: Database) -> None:
    earlier = log(app_db, "Settlement batch stopped before payouts")
    hidden = log(
        app_db,
        "Settlement batch stopped before payouts (private)",
        visibility="private",
        reporter="gil",
        team="Growth",
    )
    now = log(app_db, "Settlement batch stopped before payouts again")
    ben = another_browser(app_db, "ben")
    fragment = ben.get(f"/failures/{now}/similar", headers=HTMX)
    assert fragment.status_code == 200
    assert "<html" not in fragment.text  # a fragment, swapped into the page
    assert "Have we seen this before?" in fragment.text
    links = section_links(fragment.text)
    assert earlier in links
    assert hidden not in links  # a private failure of another team never shows, even when it is closest
    # the same section as a page of its own (no JavaScript)
    whole = ben.get(f"/failures/{now}/similar")
    assert whole.status_code == 200 and "<html" in whole.text
    assert earlier in section_links(whole.text) and hidden not in section_links(whole.text)


def test_the_section_of_a_failure_the_person_may_not_see_is_not_found(
    app_db: Database, as_ana: Browser
) -> None:
    private = log(app_db, "Payroll export leaked", visibility="private", reporter="gil", team="Growth")
    gil = another_browser(app_db, "gil")
    assert gil.get(f"/failures/{private}/similar", headers=HTMX).status_code == 200  # its reporter
    for handle in ("ben", "cara"):  # another team's member; a member of its team who did not report it
        other = another_browser(app_db, handle)
        response = other.get(f"/failures/{private}/similar", headers=HTMX)
        assert response.status_code == 404
        assert "Payroll" not in response.text
    ben = another_browser(app_db, "ben")
    response = ben.get(f"/failures/{private}/similar", headers=HTMX)
    assert response.status_code == 404
    assert "Payroll" not in response.text


def test_signed_out_the_section_asks_to_sign_in(browser: Browser, app_db: Database) -> None:
    now = log(app_db, "Settlement batch stopped before payouts")
    response = browser.get(f"/failures/{now}/similar", headers=HTMX, follow_redirects=False)
    # htmx is told to send the whole window to the sign-in page, not to swap it into the section
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == f"/login?next=/failures/{now}/similar"
    plain = browser.get(f"/failures/{now}/similar", follow_redirects=False)
    assert plain.status_code == 303 and plain.headers["location"] == f"/login?next=/failures/{now}/similar"


def test_who_may_change_the_failure_can_confirm_the_suggested_repeat(
    as_ana: Browser, app_db: Database
) -> None:
    earlier = log(app_db, "Settlement batch stopped before payouts")
    now = log(app_db, "Settlement batch stopped before payouts", reporter="ana")
    fragment = as_ana.get(f"/failures/{now}/similar", headers=HTMX).text  # ana leads Payments
    assert f"Confirm: it repeats failure {earlier}" in fragment
    ben = another_browser(app_db, "ben")
    assert "Confirm: it repeats" not in ben.get(f"/failures/{now}/similar", headers=HTMX).text  # a member
    confirmed = as_ana.post(
        f"/failures/{now}/repeat", {"repeat_of": str(earlier)}, form_page=f"/failures/{now}/similar"
    )
    assert confirmed.status_code == 200
    with app_db.unit() as session:
        assert session.scalar(select(Failure.repeat_of_id).where(Failure.id == now)) == earlier
