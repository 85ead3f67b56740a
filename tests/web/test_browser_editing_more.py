"""In headless Chromium, the kinds of record test_browser_editing.py and test_browser_revising.py
leave out: correct a completed review (the coach reads it again, the change is in the failure's
history), edit a guardrail, correct a recognition — refused beside its field first — and update an
escalation; each change is then read in the history on the page (the guardrail's, the
recognition's and the escalation's own sections; the escalation's on its failures' pages too).
(The fixtures are test_browser.py's: the real server, Debian's chromium.)"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from lessonloop.escalations.models import Escalation
from lessonloop.failures.service import log_failure
from lessonloop.followthrough.guardrails import add_guardrail
from lessonloop.followthrough.recognition import recognise
from lessonloop.store.engine import Database
from tests.factories import SYSTEM, reviewed
from tests.web.conftest import PASSWORD
from tests.web.test_browser import live_server, page, playwright_api, shot

__all__ = ["live_server", "page", "playwright_api"]


def _sign_in(page: Any, expect: Any, handle: str) -> None:
    page.goto("/login")
    page.get_by_label("Handle or e-mail").fill(handle)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=re.compile("^Hello"))).to_be_visible()


def test_correct_a_review_and_see_it_in_the_history(
    page: Any, playwright_api: Any, sqlite_db: Database
) -> None:
    expect = playwright_api.expect
    with sqlite_db.unit(actor="test") as session:
        failure = log_failure(session, title="Refunds stuck", team="Payments", reporter="ana", viewer=SYSTEM)
        reviewed(session, failure, owner="ben")
        failure_id = failure.id
    held = (dt.date.today() - dt.timedelta(days=2)).isoformat()
    _sign_in(page, expect, "ana")
    page.goto(f"/failures/{failure_id}")
    page.get_by_role("link", name="Correct the review").click()
    expect(page).to_have_url(re.compile(rf"/failures/{failure_id}/edit-review$"))
    page.get_by_label("Root cause").fill("Ben was careless with the refund job")
    page.get_by_label("Held on").fill(held)
    page.get_by_role("button", name="Save the correction").click()
    # Saved; the coach read the new text and says so beside it (advice, not a refusal).
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    expect(page.locator("#hint-root_cause")).to_contain_text("careless")
    page.get_by_label("Root cause").fill("Refund retries had no idempotency key")
    page.get_by_role("button", name="Save the correction").click()
    expect(page).to_have_url(re.compile(rf"/failures/{failure_id}\?history=1#review$"))
    expect(page.locator("#review")).to_contain_text("Refund retries had no idempotency key")
    history = page.locator("#history")
    expect(history.locator(".history-line").first).to_contain_text("Ana Lead (ana) changed")
    expect(history).to_contain_text("Root cause: Ben was careless with the refund job → Refund retries")
    shot(page, "edit-review-history")
    assert page.problems == []


def test_edit_a_guardrail_and_correct_a_recognition(
    page: Any, playwright_api: Any, sqlite_db: Database
) -> None:
    expect = playwright_api.expect
    soon = (dt.date.today() + dt.timedelta(days=20)).isoformat()
    with sqlite_db.unit(actor="test") as session:
        gid = add_guardrail(
            session,
            title="No Friday deploys",
            owner="ben",
            expires_on=soon,
            rollback_plan="Deploy again",
            team="Payments",
            viewer=SYSTEM,
        ).id
        rid = recognise(session, person="ben", kind="win", by="ana", note="Shipped", viewer=SYSTEM).id
    _sign_in(page, expect, "ana")

    page.goto("/guardrails")
    card = page.locator(f"#guardrail-{gid}")
    card.get_by_text("Edit: correct its text, owner or expiry").click()
    card.get_by_label("What is restricted").fill("No deploys on Fridays")
    card.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status")).to_contain_text("Guardrail saved: 1 field changed")
    expect(page.locator(f"#guardrail-{gid}")).to_contain_text("No deploys on Fridays")
    # Its history, on its own card: who changed what, readably.
    history = page.locator(f"#guardrail-{gid}-history")
    history.locator("summary").click()
    line = history.locator(".history-line").first
    expect(line).to_be_visible()
    expect(line).to_contain_text(f"Ana Lead (ana) changed Guardrail {gid}")
    expect(line).to_contain_text("What is restricted: No Friday deploys → No deploys on Fridays")

    page.goto("/people/ben")
    item = page.locator(f"#recognition-{rid}")
    item.get_by_text("Edit or delete").click()
    # Over the limit (the browser's maxlength is taken off, as a client that does not check):
    # refused beside the field, the form open, the text kept — not a flash.
    note = item.get_by_label("What they did")
    note.evaluate("el => el.removeAttribute('maxlength')")
    note.fill("x" * 2001)
    item.get_by_role("button", name="Save").click()
    item = page.locator(f"#recognition-{rid}")
    expect(item).to_have_attribute("open", "")
    expect(page.locator(f"#rec{rid}-note-error")).to_be_visible()
    expect(page.locator(":focus")).to_have_attribute("id", f"rec{rid}-note")
    item.get_by_label("What they did").fill("Said plainly that the date was never written down")
    item.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Recognition corrected.")
    expect(page.locator("#recognition")).to_contain_text("Said plainly that the date was never written down")
    history = page.locator(f"#recognition-{rid}-history")
    history.locator("summary").click()
    line = history.locator(".history-line").first
    expect(line).to_be_visible()
    expect(line).to_contain_text(f"Ana Lead (ana) changed Recognition {rid}")
    expect(line).to_contain_text("What they did: Shipped → Said plainly that the date was never written down")
    problems = [p for p in page.problems if "status of 422" not in p]
    assert problems == [], f"console errors: {problems}"


def test_update_an_escalation_and_see_it_in_the_history(
    page: Any, playwright_api: Any, sqlite_db: Database
) -> None:
    expect = playwright_api.expect
    with sqlite_db.unit(actor="test") as session:
        failure = log_failure(session, title="Deploy slipped", team="Payments", reporter="ben", viewer=SYSTEM)
        escalation = Escalation(
            rule="label",
            subject_key="deploy",
            subject="Deploys keep slipping",
            support_route="organisational-development-specialist",
            failure_ids=[failure.id],
            count=3,
            window_days=30,
            explanation="Three deploy failures in 30 days",
        )
        session.add(escalation)
        session.flush()
        eid, failure_id = escalation.id, failure.id
    _sign_in(page, expect, "ana")

    page.goto("/insights")
    card = page.locator(f"#escalation-{eid}")
    card.get_by_text("Acknowledge, assign or resolve").click()
    card.get_by_label("Status").select_option("acknowledged")
    card.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text(f"Escalation {eid} updated.")
    history = page.locator(f"#escalation-{eid}-history")
    history.locator("summary").click()
    line = history.locator(".history-line").first
    expect(line).to_be_visible()
    expect(line).to_contain_text(f"Ana Lead (ana) changed Escalation {eid} (Deploys keep slipping)")
    expect(line).to_contain_text("Status: open → acknowledged")

    # The failure it lists shows the same change in its history.
    page.goto(f"/failures/{failure_id}?history=1")
    history = page.locator("#history")
    expect(history.locator(".history-line").first).to_contain_text(f"changed Escalation {eid}")
    expect(history).to_contain_text("Status: open → acknowledged")
    shot(page, "edit-escalation-history")
    assert page.problems == []
