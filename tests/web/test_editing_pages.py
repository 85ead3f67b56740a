"""Editing pages: a failure's fields, a completed review (coached again), an action's owner and
dates, the back-fill rule on the add-action form, and the readable history on the failure page."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from lessonloop.actions.models import Action
from lessonloop.failures.models import Failure
from lessonloop.failures.service import log_failure
from lessonloop.people.models import Team
from lessonloop.reviews.models import Review
from lessonloop.store.engine import Database
from lessonloop.store.history import list_history
from tests.factories import SYSTEM, reviewed
from tests.web.conftest import Browser, another_browser, day


def _team_failure(db: Database, *, review: bool = False) -> int:
    with db.unit(actor="test") as session:
        f = log_failure(
            session,
            title="Refunds stuck for a day",
            team="Payments",
            reporter="ana",
            detected_at="2026-11-02T10:30:00",
            viewer=SYSTEM,
        )
        if review:
            reviewed(session, f, owner="ben")
        return f.id


def _action_id(db: Database, fid: int) -> int:
    with db.unit() as session:
        return int(session.scalars(select(Action.id).where(Action.failure_id == fid)).one())


FAILURE_FORM = {
    "title": "Refunds stuck for two days",
    "observation": "The refund queue stalled after the deploy.",
    "impact": "120 customers waited",
    "kind": "skipped-check",
    "severity": "high",
    "visibility": "team",
    "detected_at": "2026-11-02",
    "occurred_at": "",
    "team": "",
    "people": ["ben"],
    "labels": "refunds, deploy",
}


def test_the_failure_page_links_to_its_edit_page(as_ana: Browser, app_db: Database) -> None:
    fid = _team_failure(app_db)
    assert f'href="/failures/{fid}/edit"' in as_ana.get(f"/failures/{fid}").text
    page = as_ana.get(f"/failures/{fid}/edit")
    assert page.status_code == 200 and 'value="Refunds stuck for a day"' in page.text


def test_editing_every_field_of_a_failure_writes_one_history_row(as_ana: Browser, app_db: Database) -> None:
    fid = _team_failure(app_db)
    with app_db.unit() as session:
        team_id = session.get(Failure, fid).team_id  # type: ignore[union-attr]
    form = {**FAILURE_FORM, "team": str(team_id)}
    response = as_ana.post(f"/failures/{fid}/edit", form, form_page=f"/failures/{fid}/edit")
    assert response.status_code == 200 and response.url.path == f"/failures/{fid}"
    with app_db.unit() as session:
        f = session.get(Failure, fid)
        assert f is not None
        assert (f.title, f.kind, f.severity, f.impact) == (
            "Refunds stuck for two days",
            "skipped-check",
            "high",
            "120 customers waited",
        )
        assert [p.handle for p in f.people] == ["ben"] and f.labels == ["deploy", "refunds"]
        assert f.detected_at == dt.datetime(2026, 11, 2, 10, 30, tzinfo=dt.UTC)  # the day did not change
        last = list_history(session, "failure", fid)[-1]
    assert last.actor == "ana"
    assert set(last.changes) == {"title", "observation", "impact", "kind", "severity", "people", "label_rows"}
    assert "Title" in response.text and "Refunds stuck for a day" in response.text  # the history


def test_the_team_who_may_see_it_people_and_labels_are_changed_and_cleared(
    as_ana: Browser, app_db: Database
) -> None:
    fid = _team_failure(app_db)
    with app_db.unit() as session:
        growth = session.scalar(select(Team.id).where(Team.name == "Growth"))
    first = {**FAILURE_FORM, "team": str(growth), "visibility": "org", "people": ["ben", "cara"]}
    as_ana.post(f"/failures/{fid}/edit", first, form_page=f"/failures/{fid}/edit")
    # Nobody chosen: a browser sends no "people" at all, only the form's marker that the list was there.
    cleared = {k: v for k, v in {**first, "labels": "", "people_shown": "1"}.items() if k != "people"}
    response = as_ana.post(f"/failures/{fid}/edit", cleared, form_page=f"/failures/{fid}/edit")
    assert response.status_code == 200
    with app_db.unit() as session:
        f = session.get(Failure, fid)
        assert f is not None and (f.team_id, f.visibility, f.people, f.labels) == (growth, "org", [], [])
        moved, emptied = list_history(session, "failure", fid)[-2:]
    assert {"team_id", "visibility", "people", "label_rows"} <= set(moved.changes)
    assert set(emptied.changes) == {"people", "label_rows"}
    history = re.sub(r"<[^>]+>", "", response.text.split('id="history"')[1])
    assert "Team: Payments → Growth" in history and "Who may see it: team → org" in history


def test_the_reporter_is_corrected_from_the_edit_page(as_ana: Browser, app_db: Database) -> None:
    fid = _team_failure(app_db)
    page = as_ana.get(f"/failures/{fid}/edit").text
    assert 'name="reporter"' in page and '<option value="ana" selected>' in page
    response = as_ana.post(
        f"/failures/{fid}/edit", {**FAILURE_FORM, "reporter": "ben"}, form_page=f"/failures/{fid}/edit"
    )
    assert response.status_code == 200
    with app_db.unit() as session:
        f = session.get(Failure, fid)
        assert f is not None and f.reporter is not None and f.reporter.handle == "ben"
    history = re.sub(r"<[^>]+>", "", response.text.split('id="history"')[1])
    assert "Reported by: Ana Lead → Ben Member" in history
    # a form that does not carry the field leaves the reporter alone; "(nobody)" clears it
    page = f"/failures/{fid}/edit"
    as_ana.post(page, {**FAILURE_FORM, "title": "Refunds stuck"}, form_page=page)
    with app_db.unit() as session:
        f = session.get(Failure, fid)
        assert f is not None and f.title == "Refunds stuck" and f.reporter is not None
    as_ana.post(page, {**FAILURE_FORM, "title": "Refunds stuck", "reporter": ""}, form_page=page)
    with app_db.unit() as session:
        f = session.get(Failure, fid)
        assert f is not None and f.reporter is None
    refused = as_ana.post(
        f"/failures/{fid}/edit", {**FAILURE_FORM, "reporter": "nobody"}, form_page=f"/failures/{fid}/edit"
    )
    assert refused.status_code == 422 and 'id="f-reporter-error"' in refused.text


def test_a_bad_value_keeps_the_edit_form_open_with_the_error(as_ana: Browser, app_db: Database) -> None:
    fid = _team_failure(app_db)
    form = {**FAILURE_FORM, "title": "", "detected_at": "2026-11-02"}
    response = as_ana.post(f"/failures/{fid}/edit", form, form_page=f"/failures/{fid}/edit")
    assert response.status_code == 422 and 'id="f-title-error"' in response.text
    with app_db.unit() as session:
        assert session.get(Failure, fid).title == "Refunds stuck for a day"  # type: ignore[union-attr]


def test_someone_who_may_see_but_not_edit_gets_403_and_nothing_changes(
    as_ana: Browser, app_db: Database
) -> None:
    fid = _team_failure(app_db, review=True)
    ben = another_browser(app_db, "ben")  # a plain member of the team
    assert ben.get(f"/failures/{fid}/edit").status_code == 403
    assert ben.post(f"/failures/{fid}/edit", FAILURE_FORM).status_code == 403
    assert ben.get(f"/failures/{fid}/edit-review").status_code == 403
    assert ben.post(f"/failures/{fid}/edit-review", {"root_cause": "x"}).status_code == 403
    cara = another_browser(app_db, "cara")  # another team: may neither see nor edit it
    assert cara.get(f"/failures/{fid}/edit").status_code == 404
    assert cara.get(f"/actions/{_action_id(app_db, fid)}/edit").status_code == 404
    with app_db.unit() as session:
        assert session.get(Failure, fid).title == "Refunds stuck for a day"  # type: ignore[union-attr]


REVIEW_FORM = {
    "assumption_text": "The vendor API would be ready by sprint 3",
    "evidence": "A verbal promise in a call; no written date",
    "what_changed": "The vendor re-planned after a reorg",
    "root_cause": "Ben was careless and should have checked",
    "gap_type": "process",
    "gap_justification": "Nobody asked for a dated commitment: no step required one",
    "contributing_factors": "launch date set before discovery",
    "held_at": "2026-11-03",
}


def test_a_corrected_review_is_saved_coached_and_in_its_history(as_ana: Browser, app_db: Database) -> None:
    fid = _team_failure(app_db, review=True)
    assert f'href="/failures/{fid}/edit-review"' in as_ana.get(f"/failures/{fid}").text
    response = as_ana.post(
        f"/failures/{fid}/edit-review", REVIEW_FORM, form_page=f"/failures/{fid}/edit-review"
    )
    assert response.status_code == 200  # saved, and shown again with the coach's hints
    assert "Saved." in response.text and 'id="hint-root_cause"' in response.text
    with app_db.unit() as session:
        review = session.scalars(select(Review).where(Review.failure_id == fid)).one()
        assert review.root_cause == "Ben was careless and should have checked"
        assert review.held_at == dt.datetime(2026, 11, 3, tzinfo=dt.UTC)
        assert review.blame_findings >= 1  # the coach's stored finding follows the new text
        last = list_history(session, "review", review.id)[-1]
    assert last.actor == "ana" and set(last.changes) >= {"root_cause", "held_at"}


def test_a_correction_without_hints_goes_back_to_the_failure(as_ana: Browser, app_db: Database) -> None:
    fid = _team_failure(app_db, review=True)
    form = {**REVIEW_FORM, "root_cause": "No step asked for a written date"}
    response = as_ana.post(f"/failures/{fid}/edit-review", form, form_page=f"/failures/{fid}/edit-review")
    assert response.status_code == 200 and response.url.path == f"/failures/{fid}"
    assert "Root cause" in response.text and "No step asked for a written date" in response.text


def test_emptying_a_required_answer_is_refused_beside_it(as_ana: Browser, app_db: Database) -> None:
    fid = _team_failure(app_db, review=True)
    form = {**REVIEW_FORM, "evidence": ""}
    response = as_ana.post(f"/failures/{fid}/edit-review", form, form_page=f"/failures/{fid}/edit-review")
    assert response.status_code == 422 and 'id="f-evidence-error"' in response.text


def test_an_action_is_reassigned_and_moved_from_its_edit_page(as_ana: Browser, app_db: Database) -> None:
    fid = _team_failure(app_db, review=True)
    aid = _action_id(app_db, fid)
    assert f'href="/actions/{aid}/edit"' in as_ana.get(f"/failures/{fid}").text
    page = as_ana.get(f"/actions/{aid}/edit")
    assert '<select id="f-owner" name="owner"' in page.text  # a choice of people, not typed
    form = {
        "title": "Add a dated dependency check to the kickoff",
        "owner": "ana",
        "due_date": day(9),
        "review_date": day(30),
    }
    response = as_ana.post(f"/actions/{aid}/edit", form, form_page=f"/actions/{aid}/edit")
    assert response.status_code == 200 and response.url.path == f"/failures/{fid}"
    assert "Owner" in response.text and "Ben Member" in response.text and "Ana Lead" in response.text
    with app_db.unit() as session:
        action = session.get(Action, aid)
        assert action is not None and action.owner.handle == "ana" and action.due_date.isoformat() == day(9)
        assert list_history(session, "action", aid)[-1].actor == "ana"


def test_the_owner_may_edit_their_action_others_may_not(as_ana: Browser, app_db: Database) -> None:
    fid = _team_failure(app_db, review=True)
    aid = _action_id(app_db, fid)  # owned by ben
    ben = another_browser(app_db, "ben")
    assert ben.get(f"/actions/{aid}/edit").status_code == 200
    with app_db.unit(actor="test") as session:
        f = session.get(Failure, fid)
        assert f is not None
        f.visibility = "org"
    gil = another_browser(app_db, "gil")  # sees an org failure, neither owns nor may change it
    assert gil.get(f"/actions/{aid}/edit").status_code == 403
    assert (
        gil.post(
            f"/actions/{aid}/edit", {"owner": "gil", "due_date": day(3), "review_date": day(20)}
        ).status_code
        == 403
    )


def test_a_past_due_date_needs_the_back_fill_box_on_the_edit_page(as_ana: Browser, app_db: Database) -> None:
    fid = _team_failure(app_db, review=True)
    aid = _action_id(app_db, fid)
    form = {
        "title": "Add a dated dependency check to the kickoff",
        "owner": "ben",
        "due_date": day(-5),
        "review_date": day(10),
    }
    refused = as_ana.post(f"/actions/{aid}/edit", form, form_page=f"/actions/{aid}/edit")
    assert (
        refused.status_code == 422 and 'id="f-due_date-error"' in refused.text and "back-fill" in refused.text
    )
    ok = as_ana.post(f"/actions/{aid}/edit", {**form, "backfill": "yes"}, form_page=f"/actions/{aid}/edit")
    assert ok.status_code == 200 and ok.url.path == f"/failures/{fid}"


def test_the_add_action_form_refuses_a_past_due_date_unless_back_filled(
    as_ana: Browser, app_db: Database
) -> None:
    fid = _team_failure(app_db)
    form = {"title": "Add an idempotency key to the refund job", "owner": "ben", "due_date": day(-3)}
    refused = as_ana.post(f"/failures/{fid}/actions", form, form_page=f"/failures/{fid}")
    assert refused.status_code == 422 and 'id="act-due_date-error"' in refused.text
    assert "Due date" in refused.text and "is in the past" in refused.text
    added = as_ana.post(f"/failures/{fid}/actions", {**form, "backfill": "yes"}, form_page=f"/failures/{fid}")
    assert added.status_code == 200
    with app_db.unit() as session:
        assert session.scalars(
            select(Action.due_date).where(Action.failure_id == fid)
        ).one().isoformat() == day(-3)


def test_a_done_date_is_back_filled_from_the_done_form(as_ana: Browser, app_db: Database) -> None:
    fid = _team_failure(app_db, review=True)
    aid = _action_id(app_db, fid)
    response = as_ana.post(
        f"/actions/{aid}/done",
        {"evidence": "merged", "done_at": day(-2), "next": f"/failures/{fid}"},
        form_page=f"/actions/{aid}/edit",
    )
    assert response.status_code == 200
    with app_db.unit() as session:
        action = session.get(Action, aid)
        assert action is not None and action.closed_at is not None
        assert action.closed_at.date().isoformat() == day(-2)
