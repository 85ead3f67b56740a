"""Follow-through pages: checklists, guardrails, recognition, and the failure page's practice panel."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select

from lessonloop.failures.service import log_failure
from lessonloop.followthrough.checklists import create_checklist, revise_checklist
from lessonloop.followthrough.guardrails import add_guardrail
from lessonloop.followthrough.models import Checklist, ChecklistRevision, Guardrail, Recognition
from lessonloop.followthrough.recognition import recognise
from lessonloop.store.engine import Database
from tests import factories
from tests.factories import SYSTEM
from tests.web.conftest import Browser, another_browser, day

KICKOFF = ["Name one owner", "Agree the scope"]


def count(db: Database, model: type) -> int:
    with db.unit() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def kickoff(db: Database) -> int:
    with db.unit(actor="test") as session:
        return create_checklist(session, name="Kickoff", items=KICKOFF, author="ana", viewer=SYSTEM).id


def reviewed_failure(db: Database, gap_type: str = "process", **fields: object) -> int:
    """A Payments failure reported by ana, its review completed with ``gap_type``."""
    with db.unit(actor="test") as session:
        failure = log_failure(
            session,
            **{"title": "Checkout v2 missed the launch", "team": "Payments", "reporter": "ana", **fields},  # type: ignore[arg-type]
            viewer=SYSTEM,
        )
        factories.reviewed(session, failure, gap_type=gap_type)
        return failure.id


def private_failure_with_changes(db: Database) -> tuple[int, int, int]:
    """A private Payments failure (ana's) that prompted Kickoff v2 and a guardrail."""
    checklist_id = kickoff(db)
    with db.unit(actor="test") as session:
        failure = log_failure(
            session,
            title="Payroll export leaked to a shared drive",
            visibility="private",
            team="Payments",
            reporter="ana",
            people=["ana"],
            viewer=SYSTEM,
        )
        revise_checklist(
            session,
            "Kickoff",
            items=[*KICKOFF, "Check who can read the export folder"],
            reason="An export reached the wrong folder",
            failure_id=failure.id,
            author="ana",
            viewer=SYSTEM,
        )
        guardrail = add_guardrail(
            session,
            title="Exports only to the vault",
            owner="ana",
            expires_on=day(20),
            rollback_plan="Allow shared drives again once the scanner runs",
            team="Payments",
            failure_id=failure.id,
            viewer=SYSTEM,
        )
        return failure.id, checklist_id, guardrail.id


def field_error(html: str, fid: str) -> str:
    match = re.search(rf'id="{fid}-error">(.*?)</p>', html, re.S)
    assert match, f"no error beside {fid}"
    return match.group(1)


# -- every page renders --------------------------------------------------------------------------


def test_the_pages_render_for_a_signed_in_user(as_ana: Browser, app_db: Database) -> None:
    checklist_id = kickoff(app_db)
    fid = reviewed_failure(app_db)
    with app_db.unit(actor="test") as session:
        add_guardrail(
            session,
            title="No Friday deploys",
            owner="ben",
            expires_on=day(5),
            rollback_plan="Deploy again",
            viewer=SYSTEM,
        )
    home = as_ana.get("/").text
    assert 'href="/checklists"' in home and 'href="/guardrails"' in home  # in the main navigation
    pages = {
        "/checklists": "Checklists, templates and decision criteria",
        f"/checklists/{checklist_id}": "Only one version so far",
        "/guardrails": "active — expires in 5 days",
        "/guardrails?status=retired": "No retired guardrail",
        "/guardrails?status=expired": "No guardrail needs a decision",
        "/people/ben": "Recognise Ben for learning or correction",
        "/teams/1": "Recognise someone for learning or correction",
        f"/failures/{fid}": "What changed because of this failure",
    }
    for path, text in pages.items():
        response = as_ana.get(path)
        assert response.status_code == 200, path
        assert text in response.text, path
    assert 'aria-current="page">Checklists' in as_ana.get("/checklists").text
    assert "guardrail-expiring" in as_ana.get("/guardrails").text  # five days left
    # Nobody recognises themselves: no form on one's own page.
    assert "for learning or correction</summary>" not in as_ana.get("/people/ana").text


# -- checklists ------------------------------------------------------------------------------------


def test_add_a_checklist_and_see_it_listed(as_ana: Browser, app_db: Database) -> None:
    added = as_ana.post(
        "/checklists",
        {
            "name": "Pricing change",
            "kind": "decision-criteria",
            "items": "Second approver\n\nRollback ready\n",
        },
        form_page="/checklists",
    )
    assert added.status_code == 200 and added.url.path.startswith("/checklists/")
    assert "Pricing change v1 added." in added.text
    assert "<li>Second approver</li>" in added.text and "<li>Rollback ready</li>" in added.text
    listed = as_ana.get("/checklists").text
    assert "Pricing change" in listed and "decision-criteria" in listed and "v1" in listed


def test_a_refused_checklist_shows_the_error_beside_the_field_and_keeps_the_values(
    as_ana: Browser, app_db: Database
) -> None:
    kickoff(app_db)
    duplicate = as_ana.post(
        "/checklists",
        {"name": "kickoff", "kind": "template", "items": "One\nTwo", "reason": "A fresh start"},
        form_page="/checklists",
    )
    assert duplicate.status_code == 422
    assert "exists already" in field_error(duplicate.text, "cl-name")
    assert 'value="kickoff"' in duplicate.text and ">One\nTwo</textarea>" in duplicate.text
    assert "A fresh start</textarea>" in duplicate.text
    assert re.search(r'<option value="template" selected>', duplicate.text)

    no_items = as_ana.post(
        "/checklists", {"name": "Launch", "kind": "checklist", "items": "  \n"}, form_page="/checklists"
    )
    assert no_items.status_code == 422 and "at least one item" in field_error(no_items.text, "cl-items")
    assert 'value="Launch"' in no_items.text

    unknown_failure = as_ana.post(
        "/checklists", {"name": "Launch", "items": "Go", "failure_id": "999"}, form_page="/checklists"
    )
    assert unknown_failure.status_code == 422
    assert "no failure with id 999" in field_error(unknown_failure.text, "cl-failure_id")
    assert count(app_db, Checklist) == 1


def test_the_checklist_page_shows_versions_and_a_diff(as_ana: Browser, app_db: Database) -> None:
    checklist_id = kickoff(app_db)
    fid = reviewed_failure(app_db)
    with app_db.unit(actor="test") as session:
        revise_checklist(
            session,
            "Kickoff",
            items=["Name one owner", "Get a written date for every external dependency"],
            reason="The vendor slipped on a verbal date",
            failure_id=fid,
            author="ben",
            viewer=SYSTEM,
        )
    page = as_ana.get(f"/checklists/{checklist_id}")
    assert page.status_code == 200
    html = page.text
    assert "The vendor slipped on a verbal date" in html and "Ben Member" in html
    assert f'<a href="/failures/{fid}">Checkout v2 missed the launch</a>' in html  # shaped by, prompted by
    assert '<span class="diff-add">+Get a written date for every external dependency</span>' in html
    assert '<span class="diff-del">-Agree the scope</span>' in html

    same = as_ana.get(f"/checklists/{checklist_id}?old=2&new=2").text
    assert "No differences between v2 and v2" in same
    bad = as_ana.get(f"/checklists/{checklist_id}?old=1&new=7")
    assert bad.status_code == 422 and "no version 7" in field_error(bad.text, "diff-new")
    assert 'class="diff"' not in bad.text
    listed = as_ana.get("/checklists").text
    assert f'<a href="/failures/{fid}">Checkout v2 missed the launch</a>' in listed


# -- the failure page: change the practice, not the person ------------------------------------------


def test_a_process_gap_offers_to_change_the_practice_and_a_skill_gap_does_not(
    as_ana: Browser, app_db: Database
) -> None:
    kickoff(app_db)
    process = as_ana.get(f"/failures/{reviewed_failure(app_db, 'process')}").text
    assert "This is a process gap: change the practice, not the person" in process
    assert "Revise a checklist because of this failure" in process
    assert "Add a guardrail because of this failure" in process
    assert ">Name one owner\nAgree the scope</textarea>" in process  # prefilled with the current items
    assert "Start a private development plan" not in process

    context = as_ana.get(f"/failures/{reviewed_failure(app_db, 'context', title='Docs went stale')}").text
    assert "This is a context gap: change the practice, not the person" in context

    skill = as_ana.get(f"/failures/{reviewed_failure(app_db, 'skill', title='Query took down the DB')}").text
    assert "change the practice, not the person" not in skill
    assert "Revise a checklist because of this failure" not in skill
    assert "Start a private development plan (skill gap)" in skill

    with app_db.unit(actor="test") as session:
        draft = log_failure(session, title="Not reviewed yet", team="Payments", reporter="ana", viewer=SYSTEM)
    assert "change the practice" not in as_ana.get(f"/failures/{draft.id}").text


def test_the_panel_loads_the_chosen_checklist(as_ana: Browser, app_db: Database) -> None:
    kickoff(app_db)
    with app_db.unit(actor="test") as session:
        other = create_checklist(session, name="Launch", items=["Feature flag on"], viewer=SYSTEM).id
    fid = reviewed_failure(app_db)
    page = as_ana.get(f"/failures/{fid}?checklist={other}").text
    assert ">Feature flag on</textarea>" in page and f'name="checklist" value="{other}"' in page


def test_revise_a_checklist_from_the_failure_page(as_ana: Browser, app_db: Database) -> None:
    checklist_id = kickoff(app_db)
    fid = reviewed_failure(app_db)
    url = f"/failures/{fid}"
    unchanged = as_ana.post(
        f"{url}/checklist-revisions",
        {"checklist": str(checklist_id), "items": "Name one owner\nAgree the scope", "reason": "Tidy"},
        form_page=url,
    )
    assert unchanged.status_code == 422
    assert "the same as version 1" in field_error(unchanged.text, "rev-items")
    assert "Tidy</textarea>" in unchanged.text

    items = "Name one owner\nAgree the scope\nGet a written date for every external dependency"
    no_reason = as_ana.post(
        f"{url}/checklist-revisions",
        {"checklist": str(checklist_id), "items": items, "reason": ""},
        form_page=url,
    )
    assert no_reason.status_code == 422 and "is required" in field_error(no_reason.text, "rev-reason")
    assert f">{items}</textarea>" in no_reason.text  # what was typed, not the stored version
    assert count(app_db, ChecklistRevision) == 1

    done = as_ana.post(
        f"{url}/checklist-revisions",
        {"checklist": str(checklist_id), "items": items, "reason": "The vendor slipped on a verbal date"},
        form_page=url,
    )
    assert done.status_code == 200 and done.url.path == url
    assert "Kickoff is now v2, because of this failure." in done.text
    changed = done.text.split('id="h-changed"')[1].split("</section>")[0]
    assert f'href="/checklists/{checklist_id}#v2">Kickoff v2</a>' in changed
    assert "The vendor slipped on a verbal date" in changed
    assert "+Get a written date" in as_ana.get(f"/checklists/{checklist_id}?old=1&new=2").text


def test_add_a_guardrail_from_the_failure_page(as_ana: Browser, app_db: Database) -> None:
    fid = reviewed_failure(app_db)
    url = f"/failures/{fid}"
    fields = {
        "title": "A second approver on pricing changes",
        "owner": "ben",
        "expires_on": day(-1),
        "rollback_plan": "One approver again once the price checks run",
        "reason": "",
        "team": "1",
    }
    refused = as_ana.post(f"{url}/guardrails", fields, form_page=url)
    assert refused.status_code == 422 and "after today" in field_error(refused.text, "gr-expires_on")
    assert 'value="A second approver on pricing changes"' in refused.text
    assert f'value="{day(-1)}"' in refused.text and "One approver again" in refused.text
    assert count(app_db, Guardrail) == 0

    added = as_ana.post(f"{url}/guardrails", {**fields, "expires_on": day(14)}, form_page=url)
    assert added.status_code == 200 and added.url.path == url
    changed = added.text.split('id="h-changed"')[1].split("</section>")[0]
    assert "A second approver on pricing changes" in changed and "active — expires in 14 days" in changed
    with app_db.unit() as session:
        guardrail = session.scalars(select(Guardrail)).one()
        assert guardrail.failure_id == fid and guardrail.owner.handle == "ben"


# -- guardrails ------------------------------------------------------------------------------------


def test_add_renew_and_retire_guardrails(as_ana: Browser, app_db: Database) -> None:
    fields = {
        "title": "No Friday deploys",
        "owner": "ana",
        "expires_on": day(400),
        "rollback_plan": "Deploy on Fridays again once the canary runs",
        "reason": "Two Friday incidents",
        "team": "1",
        "failure_id": "",
    }
    too_long = as_ana.post("/guardrails", fields, form_page="/guardrails")
    assert too_long.status_code == 422 and "short-term" in field_error(too_long.text, "gr-expires_on")
    assert 'value="No Friday deploys"' in too_long.text and "Two Friday incidents</textarea>" in too_long.text
    added = as_ana.post("/guardrails", {**fields, "expires_on": day(10)}, form_page="/guardrails")
    assert added.status_code == 200 and "Guardrail added: No Friday deploys" in added.text
    assert "active — expires in 10 days" in added.text

    with app_db.unit(actor="test") as session:  # started 20 days ago, expired yesterday
        old = add_guardrail(
            session,
            title="Freeze the pricing page",
            owner="ana",
            expires_on=dt.date.today() - dt.timedelta(days=1),
            rollback_plan="Unfreeze",
            team="Payments",
            today=dt.date.today() - dt.timedelta(days=20),
            viewer=SYSTEM,
        ).id
    page = as_ana.get("/guardrails").text
    assert "expired — needs a decision" in page and "guardrail-expired" in page
    assert "Freeze the pricing page" in as_ana.get("/guardrails?status=expired").text

    bad = as_ana.post(
        f"/guardrails/{old}/renew", {"expires_on": day(0), "reason": "Still needed"}, form_page="/guardrails"
    )
    assert bad.status_code == 422
    assert "after today" in field_error(bad.text, f"renew{old}-expires_on")
    assert f'id="renew{old}-reason"' in bad.text and 'value="Still needed"' in bad.text
    renewed = as_ana.post(
        f"/guardrails/{old}/renew",
        {"expires_on": day(30), "reason": "The new checkout is not ready"},
        form_page="/guardrails",
    )
    assert renewed.status_code == 200 and f"Renewed until {day(30)}" in renewed.text
    assert "renewed — expires in 30 days" in renewed.text and "The new checkout is not ready" in renewed.text

    no_reason = as_ana.post(f"/guardrails/{old}/retire", {"reason": ""}, form_page="/guardrails")
    assert no_reason.status_code == 422 and "is required" in field_error(
        no_reason.text, f"retire{old}-reason"
    )
    retired = as_ana.post(
        f"/guardrails/{old}/retire", {"reason": "Pricing page rewritten"}, form_page="/guardrails"
    )
    assert retired.status_code == 200 and "Retired: Freeze the pricing page" in retired.text
    assert "Freeze the pricing page" not in retired.text.split("</nav>", 2)[-1].split('id="add"')[0]
    gone = as_ana.get("/guardrails?status=retired").text
    assert "Freeze the pricing page" in gone and "Pricing page rewritten" in gone
    again = as_ana.post(f"/guardrails/{old}/retire", {"reason": "twice"}, form_page="/guardrails")
    assert again.status_code == 422 and "retired already" in again.text


def test_only_the_owner_a_lead_of_its_team_or_an_admin_decide(as_ana: Browser, app_db: Database) -> None:
    with app_db.unit(actor="test") as session:
        gid = add_guardrail(
            session,
            title="No Friday deploys",
            owner="ben",
            expires_on=day(10),
            rollback_plan="Deploy again",
            team="Payments",
            viewer=SYSTEM,
        ).id
    cara = another_browser(app_db, "cara")  # another team's member
    page = cara.get("/guardrails").text
    assert "No Friday deploys" in page and f'action="/guardrails/{gid}/retire"' not in page
    refused = cara.post(f"/guardrails/{gid}/retire", {"reason": "mine now"}, form_page="/guardrails")
    assert refused.status_code == 403
    ben = another_browser(app_db, "ben")  # the owner
    assert f'action="/guardrails/{gid}/retire"' in ben.get("/guardrails").text
    retired = ben.post(f"/guardrails/{gid}/retire", {"reason": "Canary ships"}, form_page="/guardrails")
    assert retired.status_code == 200 and "Retired: No Friday deploys" in retired.text


# -- visibility --------------------------------------------------------------------------------------


def test_a_private_failure_is_not_named_to_those_who_may_not_see_it(
    as_ana: Browser, app_db: Database
) -> None:
    fid, checklist_id, _ = private_failure_with_changes(app_db)
    title = "Payroll export leaked"
    for path in ["/checklists", f"/checklists/{checklist_id}", "/guardrails"]:
        assert title in as_ana.get(path).text, path  # the reporter sees the link
        assert f'href="/failures/{fid}"' in as_ana.get(path).text, path
    ben = another_browser(app_db, "ben")  # same team, a member: private failures are not his to see
    for path in ["/checklists", f"/checklists/{checklist_id}", "/guardrails"]:
        html = ben.get(path).text
        assert title not in html and f'href="/failures/{fid}"' not in html, path
    assert "a failure you may not see" in ben.get(f"/checklists/{checklist_id}").text
    assert "a failure you may not see" in ben.get("/guardrails").text
    assert ben.get(f"/failures/{fid}").status_code == 404
    # Nor can he revise a checklist or add a guardrail because of it.
    refused = ben.post(
        f"/failures/{fid}/checklist-revisions",
        {"checklist": str(checklist_id), "items": "x", "reason": "y"},
        form_page="/checklists",
    )
    assert refused.status_code == 404 and title not in refused.text
    guessed = ben.post(
        "/guardrails",
        {"title": "t", "owner": "ben", "expires_on": day(5), "rollback_plan": "r", "failure_id": str(fid)},
        form_page="/guardrails",
    )
    assert guessed.status_code == 422 and f"no failure with id {fid}" in field_error(
        guessed.text, "gr-failure_id"
    )
    assert count(app_db, ChecklistRevision) == 2 and count(app_db, Guardrail) == 1


# -- recognition -------------------------------------------------------------------------------------


def test_recognise_someone_on_their_page(as_ana: Browser, app_db: Database) -> None:
    fid = reviewed_failure(app_db)
    missing = as_ana.post(
        "/people/ben/recognition",
        {"kind": "candid-review", "note": "Said plainly the date was verbal", "failure_id": "999"},
        form_page="/people/ben",
    )
    assert missing.status_code == 422
    assert "no failure with id 999" in field_error(missing.text, "rec-failure_id")
    assert "Said plainly the date was verbal</textarea>" in missing.text and 'value="999"' in missing.text
    assert re.search(r'id="rec-kind-candid-review" name="kind" value="candid-review" checked', missing.text)
    bad_kind = as_ana.post(
        "/people/ben/recognition", {"kind": "medal", "note": "Shiny"}, form_page="/people/ben"
    )
    assert bad_kind.status_code == 422 and field_error(bad_kind.text, "rec-kind")
    assert count(app_db, Recognition) == 0

    given = as_ana.post(
        "/people/ben/recognition",
        {"kind": "candid-review", "note": "Said plainly the date was verbal", "failure_id": f"#{fid}"},
        form_page="/people/ben",
    )
    assert given.status_code == 200 and given.url.path == "/people/ben"
    assert "Recognition recorded: Ben Member, candid-review." in given.text
    section = given.text.split('id="recognition"')[1]
    assert "candid-review: 1" in section and "win: 0" in section
    assert "Said plainly the date was verbal" in section and "from Ana Lead" in section
    assert f'href="/failures/{fid}"' in section
    team = as_ana.get("/teams/1").text.split('id="recognition"')[1]
    assert "Said plainly the date was verbal" in team and "candid-review: 1" in team
    with app_db.unit() as session:
        row = session.scalars(select(Recognition)).one()
        assert row.given_by is not None and row.given_by.handle == "ana" and row.failure_id == fid


def test_recognise_within_a_team(as_ana: Browser, app_db: Database) -> None:
    self_given = as_ana.post(
        "/teams/1/recognition", {"person": "ana", "kind": "win", "note": "Me"}, form_page="/teams/1"
    )
    assert self_given.status_code == 422
    assert "given to someone else" in field_error(self_given.text, "rec-person")
    assert "Me</textarea>" in self_given.text
    given = as_ana.post(
        "/teams/1/recognition",
        {"person": "ben", "kind": "validated-fix", "note": "The retry fix held for a month"},
        form_page="/teams/1",
    )
    assert given.status_code == 200 and given.url.path == "/teams/1"
    assert "validated-fix: 1" in given.text and "The retry fix held for a month" in given.text


def test_recognition_for_a_private_failure_is_shown_to_those_who_may_see_it(
    as_ana: Browser, app_db: Database
) -> None:
    fid, _, _ = private_failure_with_changes(app_db)
    with app_db.unit(actor="test") as session:
        recognise(
            session,
            person="ben",
            kind="candid-review",
            by="ana",
            failure_id=fid,
            note="Flagged the leak",
            viewer=SYSTEM,
        )
    assert "Flagged the leak" in as_ana.get("/people/ben").text
    cara = another_browser(app_db, "cara")
    html = cara.get("/people/ben").text
    assert "Flagged the leak" not in html and "candid-review: 0" in html


# -- CSRF ----------------------------------------------------------------------------------------------


def test_posts_without_the_csrf_token_are_refused(as_ana: Browser, app_db: Database) -> None:
    checklist_id = kickoff(app_db)
    fid = reviewed_failure(app_db)
    client = as_ana.client
    forged = {
        "/checklists": {"name": "Forged", "items": "x"},
        f"/failures/{fid}/checklist-revisions": {"checklist": str(checklist_id), "items": "x", "reason": "y"},
        "/guardrails": {"title": "Forged", "owner": "ana", "expires_on": day(3), "rollback_plan": "r"},
        "/people/ben/recognition": {"kind": "win"},
    }
    for path, data in forged.items():
        response = client.post(path, data=data)
        assert response.status_code == 403 and "security token" in response.text, path
    assert count(app_db, Checklist) == 1 and count(app_db, ChecklistRevision) == 1
    assert count(app_db, Guardrail) == 0 and count(app_db, Recognition) == 0
