"""The correcting pages and forms: a lesson (edit, unpublish, retract), an experiment and its
observations, an escalation's owner and support route, a guardrail, a recognition. Each refuses
who may see but not change (403) and hides what one may not see (404)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from lessonloop.actions.models import Action
from lessonloop.actions.service import add_action
from lessonloop.escalations.models import Escalation
from lessonloop.experiments.models import Experiment
from lessonloop.experiments.service import add_experiment, record_observation
from lessonloop.failures.service import log_failure
from lessonloop.followthrough.guardrails import add_guardrail, get_guardrail
from lessonloop.followthrough.models import Recognition
from lessonloop.followthrough.recognition import recognise
from lessonloop.lessons.models import Lesson
from lessonloop.lessons.service import create_lesson
from lessonloop.store.engine import Database
from lessonloop.store.history import list_history
from tests.factories import SYSTEM
from tests.web.conftest import Browser, another_browser, day


def _team_failure(db: Database) -> int:
    with db.unit(actor="test") as session:
        f = log_failure(session, title="Refunds stuck", team="Payments", reporter="ana", viewer=SYSTEM)
        return f.id


def _lesson(db: Database, *, publish: bool = True) -> int:
    fid = _team_failure(db)
    with db.unit(actor="test") as session:
        lesson = create_lesson(
            session,
            title="Date every dependency",
            learned="Verbal dates slip",
            author="ana",
            failures=[fid],
            audience=["Payments"],
            publish=publish,
            viewer=SYSTEM,
        )
        return lesson.id


# -- a lesson -----------------------------------------------------------------------------------


def test_the_lesson_page_offers_edit_unpublish_and_retract_to_its_editors(
    as_ana: Browser, app_db: Database
) -> None:
    lid = _lesson(app_db)
    html = as_ana.get(f"/lessons/{lid}").text
    for action in (
        f'href="/lessons/{lid}/edit"',
        f'action="/lessons/{lid}/unpublish"',
        f'action="/lessons/{lid}/retract"',
    ):
        assert action in html
    ben = another_browser(app_db, "ben").get(f"/lessons/{lid}").text  # sees it, may not change it
    assert f"/lessons/{lid}/edit" not in ben and f"/lessons/{lid}/retract" not in ben


def test_editing_a_lesson_saves_only_what_changed(as_ana: Browser, app_db: Database) -> None:
    lid = _lesson(app_db)
    page = as_ana.get(f"/lessons/{lid}/edit")
    assert page.status_code == 200 and 'value="Date every dependency"' in page.text
    with app_db.unit() as session:
        fid = session.get(Lesson, lid).failures[0].id  # type: ignore[union-attr]
        team_id = session.get(Lesson, lid).audience[0].id  # type: ignore[union-attr]
    form = {
        "title": "Date every external dependency",
        "learned": "Verbal dates slip",
        "changed": "",
        "failures": f"#{fid}",
        "audience": [str(team_id)],
    }
    saved = as_ana.post(f"/lessons/{lid}/edit", form, form_page=f"/lessons/{lid}/edit")
    assert saved.status_code == 200 and saved.url.path == f"/lessons/{lid}"
    assert "Saved: 1 field changed" in saved.text and "Date every external dependency" in saved.text
    with app_db.unit() as session:
        last = list_history(session, "lesson", lid)[-1]
        assert (last.actor, sorted(last.changes)) == ("ana", ["title"])
    empty = as_ana.post(f"/lessons/{lid}/edit", {**form, "title": " "}, form_page=f"/lessons/{lid}/edit")
    assert empty.status_code == 422 and 'id="f-title-error"' in empty.text


def test_the_lesson_edit_page_refuses_a_non_editor_and_hides_from_who_may_not_see(
    browser: Browser, app_db: Database
) -> None:
    lid = _lesson(app_db)
    assert another_browser(app_db, "ben").get(f"/lessons/{lid}/edit").status_code == 403
    cara = another_browser(app_db, "cara")  # Growth: may not see Payments' team failure
    assert cara.get(f"/lessons/{lid}/edit").status_code == 404
    assert cara.post(f"/lessons/{lid}/retract", {"reason": "r"}).status_code == 404
    assert cara.post(f"/lessons/{lid}/unpublish", {}).status_code == 404


def test_retracting_needs_a_reason_and_leaves_the_lesson_out_of_the_library(
    as_ana: Browser, app_db: Database
) -> None:
    lid = _lesson(app_db)
    refused = as_ana.post(f"/lessons/{lid}/retract", {"reason": " "}, form_page=f"/lessons/{lid}")
    assert refused.status_code == 422 and 'id="retract-reason-error"' in refused.text
    done = as_ana.post(
        f"/lessons/{lid}/retract", {"reason": "The dates were never the cause"}, form_page=f"/lessons/{lid}"
    )
    assert done.status_code == 200 and 'id="retracted"' in done.text
    assert "The dates were never the cause" in done.text and f"/lessons/{lid}/edit" not in done.text
    assert f'href="/lessons/{lid}"' not in as_ana.get("/lessons").text
    assert f'href="/lessons/{lid}"' in as_ana.get("/lessons?retracted=true").text


def test_unpublishing_takes_a_lesson_back_to_a_draft(as_ana: Browser, app_db: Database) -> None:
    lid = _lesson(app_db)
    back = as_ana.post(f"/lessons/{lid}/unpublish", {}, form_page=f"/lessons/{lid}")
    assert back.status_code == 200 and "Back to a draft" in back.text
    with app_db.unit() as session:
        assert session.get(Lesson, lid).published_at is None  # type: ignore[union-attr]


# -- an experiment and its observations ---------------------------------------------------------


def _experiment(db: Database) -> tuple[int, int, int]:
    """Success if >= 3; observations 1 (two days ago) and 5 (yesterday): passed. ben owns the action."""
    fid = _team_failure(db)
    with db.unit(actor="test") as session:
        action = add_action(
            session, failure_id=fid, title="Add a dated check", owner="ben", due_date=day(7), viewer=SYSTEM
        )
        e = add_experiment(
            session,
            action_id=action.id,
            hypothesis="A dated check helps",
            metric="dated deps",
            comparator=">=",
            threshold=3,
            start_date=day(0),
            end_date=day(30),
            viewer=SYSTEM,
        )
        now = dt.datetime.now(dt.UTC)
        first = record_observation(
            session, e.id, value=1, observed_at=now - dt.timedelta(days=2), viewer=SYSTEM
        )
        latest = record_observation(
            session, e.id, value=5, observed_at=now - dt.timedelta(days=1), viewer=SYSTEM
        )
        return e.id, first.id, latest.id


def test_correcting_an_observation_changes_the_verdict(as_ana: Browser, app_db: Database) -> None:
    eid, _first, latest = _experiment(app_db)
    page = as_ana.get(f"/experiments/{eid}").text
    assert f'action="/experiments/{eid}/observations/{latest}/edit"' in page and ">passed<" in page
    values = {"value": "2", "observed_at": day(-1), "note": "misread the dashboard"}
    saved = as_ana.post(
        f"/experiments/{eid}/observations/{latest}/edit", values, form_page=f"/experiments/{eid}"
    )
    assert saved.status_code == 200 and "Verdict: failed" in saved.text
    bad = as_ana.post(
        f"/experiments/{eid}/observations/{latest}/edit",
        {**values, "value": "lots"},
        form_page=f"/experiments/{eid}",
    )
    assert bad.status_code == 422 and f'id="obs{latest}-value-error"' in bad.text
    deleted = as_ana.post(
        f"/experiments/{eid}/observations/{latest}/delete", {}, form_page=f"/experiments/{eid}"
    )
    assert deleted.status_code == 200 and "Observation deleted. Verdict: failed" in deleted.text


def test_editing_the_experiment_recomputes_its_verdict(as_ana: Browser, app_db: Database) -> None:
    eid, _first, _latest = _experiment(app_db)
    form = {
        "hypothesis": "A dated check helps",
        "metric": "dated dependencies",
        "comparator": ">=",
        "threshold": "10",
        "start_date": day(0),
        "end_date": day(30),
    }
    saved = as_ana.post(f"/experiments/{eid}/edit", form, form_page=f"/experiments/{eid}")
    assert (
        saved.status_code == 200
        and "Saved: 2 fields changed" in saved.text
        and "Verdict: failed" in saved.text
    )
    bad = as_ana.post(
        f"/experiments/{eid}/edit", {**form, "end_date": day(-5)}, form_page=f"/experiments/{eid}"
    )
    assert bad.status_code == 422 and 'id="exp-end_date-error"' in bad.text


def test_an_experiment_set_up_by_mistake_is_deleted_from_its_page(browser: Browser, app_db: Database) -> None:
    eid, _first, _latest = _experiment(app_db)
    with app_db.unit() as session:
        experiment = session.get(Experiment, eid)
        assert experiment is not None
        fid = session.get(Action, experiment.action_id).failure_id  # type: ignore[union-attr]
    cara = another_browser(app_db, "cara")  # Growth: may not see the Payments failure
    assert cara.post(f"/experiments/{eid}/delete", {}).status_code == 404
    ben = another_browser(app_db, "ben")  # owns the action: may
    assert f'action="/experiments/{eid}/delete"' in ben.get(f"/experiments/{eid}").text
    gone = ben.post(f"/experiments/{eid}/delete", {}, form_page=f"/experiments/{eid}")
    assert gone.status_code == 200 and gone.url.path == f"/failures/{fid}"
    assert f"Experiment {eid} deleted." in gone.text and f'href="/experiments/{eid}"' not in gone.text
    assert ben.get(f"/experiments/{eid}").status_code == 404
    with app_db.unit() as session:
        assert session.get(Experiment, eid) is None
        assert list_history(session, "failure", fid)  # the failure and its history stay


def test_experiment_corrections_refuse_who_may_not_run_it(browser: Browser, app_db: Database) -> None:
    eid, first, _latest = _experiment(app_db)
    gil = another_browser(app_db, "gil")  # leads Growth: may not see the Payments failure
    assert gil.post(f"/experiments/{eid}/observations/{first}/delete", {}).status_code == 404
    ben = another_browser(app_db, "ben")  # owns the action: may
    assert ben.post(f"/experiments/{eid}/observations/{first}/delete", {}).status_code == 200


# -- an escalation: owner from a list, the HR / assistance route for leads and admins -----------------


def _escalation(db: Database, owner: str | None = None) -> int:
    fid = _team_failure(db)
    with db.unit(actor="test") as session:
        esc = Escalation(
            rule="label",
            subject_key="deploy",
            subject="deploy-freeze",
            team_id=1,
            support_route="team-lead",
            failure_ids=[fid],
            count=3,
            window_days=30,
            explanation="Three deploy failures",
        )
        if owner:
            from lessonloop.people.service import get_person

            esc.owner = get_person(session, owner, viewer=SYSTEM)
        session.add(esc)
        session.flush()
        return esc.id


def test_the_owner_is_chosen_among_who_may_see_it(as_ana: Browser, app_db: Database) -> None:
    eid = _escalation(app_db)
    html = as_ana.get(f"/escalations/{eid}").text  # the form's own page (without JavaScript)
    assert f'<select id="esc{eid}-owner" name="owner"' in html
    assert '<option value="ben"' in html and '<option value="cara"' not in html  # cara: Growth
    # The insights page loads the form's choices when it is opened (decision 67): its card has
    # the slot and the link, not the people; the form alone comes back to htmx.
    insights = as_ana.get("/insights").text
    assert f'hx-get="/escalations/{eid}"' in insights and f'href="/escalations/{eid}"' in insights
    assert 'name="owner"' not in insights
    fragment = as_ana.get(f"/escalations/{eid}", headers={"HX-Request": "true"}).text
    assert "<html" not in fragment and f'<select id="esc{eid}-owner" name="owner"' in fragment
    assert '<option value="ben"' in fragment and 'name="csrf_token"' in fragment
    done = as_ana.post(f"/escalations/{eid}", {"owner": "ben"}, form_page="/insights")
    assert done.status_code == 200
    with app_db.unit() as session:
        assert session.get(Escalation, eid).owner.handle == "ben"  # type: ignore[union-attr]
        assert list_history(session, "escalation", eid)[-1].actor == "ana"
    refused = as_ana.post(f"/escalations/{eid}", {"owner": "cara"}, form_page="/insights")
    assert refused.status_code == 422 and "may not see this escalation" in refused.text


def test_only_a_lead_or_admin_is_offered_the_hr_route_and_it_needs_a_reason(
    as_ana: Browser, app_db: Database
) -> None:
    eid = _escalation(app_db, owner="ben")
    assert f'id="esc{eid}-support_route"' in as_ana.get(f"/escalations/{eid}").text
    ben = another_browser(app_db, "ben")  # its owner: may change it, may not choose HR
    html = ben.get(f"/escalations/{eid}").text
    assert f'action="/escalations/{eid}"' in html and f'id="esc{eid}-support_route"' not in html
    no_reason = as_ana.post(
        f"/escalations/{eid}", {"support_route": "hr-business-partner", "person": "2"}, form_page="/insights"
    )
    assert no_reason.status_code == 422 and f'id="esc{eid}-reason-error"' in no_reason.text
    chosen = as_ana.post(
        f"/escalations/{eid}",
        {"support_route": "employee-assistance", "reason": "Asked for support", "person": "2"},
        form_page="/insights",
    )
    assert chosen.status_code == 200
    with app_db.unit() as session:
        esc = session.get(Escalation, eid)
        assert esc is not None and (esc.support_route, esc.route_reason) == (
            "employee-assistance",
            "Asked for support",
        )
        assert esc.person_id == 2 and esc.owner.handle == "ana"  # type: ignore[union-attr]


# -- a guardrail and a recognition --------------------------------------------------------------


def test_a_guardrail_is_edited_on_the_guardrails_page(as_ana: Browser, app_db: Database) -> None:
    with app_db.unit(actor="test") as session:
        gid = add_guardrail(
            session,
            title="No Friday deploys",
            owner="ben",
            expires_on=day(20),
            rollback_plan="Deploy",
            team="Payments",
            viewer=SYSTEM,
        ).id
    assert f'action="/guardrails/{gid}/edit"' in as_ana.get("/guardrails").text
    form = {
        "title": "No deploys on Fridays",
        "owner": "ben",
        "expires_on": day(25),
        "rollback_plan": "Deploy",
        "reason": "",
    }
    saved = as_ana.post(f"/guardrails/{gid}/edit", form, form_page="/guardrails")
    assert saved.status_code == 200 and "Guardrail saved: 2 fields changed" in saved.text
    too_long = as_ana.post(
        f"/guardrails/{gid}/edit", {**form, "expires_on": day(800)}, form_page="/guardrails"
    )
    assert too_long.status_code == 422 and f'id="edit{gid}-expires_on-error"' in too_long.text
    cara = another_browser(app_db, "cara")  # not its owner, not of its team
    assert f'action="/guardrails/{gid}/edit"' not in cara.get("/guardrails").text
    assert cara.post(f"/guardrails/{gid}/edit", form, form_page="/guardrails").status_code == 403
    with app_db.unit() as session:
        assert get_guardrail(session, gid, viewer=SYSTEM).title == "No deploys on Fridays"
        assert list_history(session, "guardrail", gid)[-1].actor == "ana"


def test_its_author_edits_and_deletes_a_recognition(browser: Browser, app_db: Database) -> None:
    with app_db.unit(actor="test") as session:
        rid = recognise(session, person="cara", kind="win", by="gil", note="Shipped", viewer=SYSTEM).id
    gil = another_browser(app_db, "gil")
    assert f'action="/recognitions/{rid}/edit"' in gil.get("/people/cara").text
    ben = another_browser(app_db, "ben")  # neither its author nor an org admin
    assert f'action="/recognitions/{rid}/edit"' not in ben.get("/people/cara").text
    assert ben.post(f"/recognitions/{rid}/edit", {"note": "x"}, form_page="/people/cara").status_code == 403
    edited = gil.post(
        f"/recognitions/{rid}/edit",
        {"note": "Said plainly what slipped", "next": "/people/cara"},
        form_page="/people/cara",
    )
    assert (
        edited.status_code == 200
        and edited.url.path == "/people/cara"
        and "Said plainly what slipped" in edited.text
    )
    gone = gil.post(f"/recognitions/{rid}/delete", {"next": "/people/cara"}, form_page="/people/cara")
    assert gone.status_code == 200 and "Recognition deleted." in gone.text
    with app_db.unit() as session:
        assert session.scalars(select(Recognition)).all() == []
    assert gil.post(f"/recognitions/{rid}/delete", {}, form_page="/people/cara").status_code == 404


def test_a_refused_recognition_correction_shows_the_error_beside_the_field(
    as_ana: Browser, app_db: Database
) -> None:
    with app_db.unit(actor="test") as session:
        rid = recognise(
            session, person="cara", kind="win", by="gil", team="Growth", note="Shipped", viewer=SYSTEM
        ).id
    gil = another_browser(app_db, "gil")
    too_long = "x" * 2001
    for page in ("/people/cara", "/teams/2"):
        refused = gil.post(
            f"/recognitions/{rid}/edit", {"note": too_long, "next": f"{page}#recognition"}, form_page=page
        )
        assert refused.status_code == 422 and refused.url.path == f"/recognitions/{rid}/edit"
        html = refused.text
        # The page it was made on, the form open, the error beside the field named by its label.
        assert f'<details class="subform" id="recognition-{rid}" open>' in html
        assert f'id="rec{rid}-note-error"' in html and 'aria-invalid="true"' in html
        assert f'<a href="#rec{rid}-note">What they did</a>' in html
        assert too_long in html  # what was typed is kept
        assert f'name="next" value="{page}#recognition"' in html  # and saving again goes back there
        assert "Not saved" not in html
    with app_db.unit() as session:
        assert session.get(Recognition, rid).note == "Shipped"  # type: ignore[union-attr]
