"""Commands are pydantic models shared by the three adapters (issue #11, typed inputs).

The same bad input is refused with the same field name by the API (a 422 whose ``loc`` ends with
it), the CLI (one line ``error: FIELD: ...``, exit code 1) and the pages (the error beside the
field), because all three build the same command model. Dates the CLI has always read (``+7d``,
``today``) are read the same way by the API and the pages.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from lessonloop import limits
from lessonloop.accounts import crypto
from lessonloop.actions.schemas import AddAction
from lessonloop.actions.service import add_action
from lessonloop.app import create_app
from lessonloop.coaching.schemas import StartPlan
from lessonloop.errors import Invalid
from lessonloop.experiments.service import add_experiment
from lessonloop.fields import parse_command
from lessonloop.lessons.schemas import WriteLesson
from lessonloop.reviews.schemas import ReviewAnswers
from lessonloop.store.engine import Database
from tests.api.conftest import API, as_user
from tests.cli import Cli
from tests.factories import SYSTEM, failure, reviewed
from tests.web.conftest import CHEAP, Browser, seed_people
from tests.web.test_insights import _pattern


def _day(offset: int) -> str:
    return (dt.date.today() + dt.timedelta(days=offset)).isoformat()


@dataclass
class World:
    """Payments (ana lead and org admin, ben member), one failure with an action and an experiment,
    and the three adapters: ana's API client, the local CLI, ana signed in to the pages."""

    failure_id: int
    action_id: int
    experiment_id: int
    api: TestClient
    cli: Cli
    pages: Browser


@pytest.fixture
def world(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setattr(crypto, "HASHER", CHEAP)  # the sign-in is not what is tested here
    seed_people(db)
    with db.unit(actor="test") as session:
        logged = failure(session, team="Payments", reporter="ana")
        action = add_action(
            session,
            failure_id=logged.id,
            title="Add a dated dependency check to the kickoff checklist",
            owner="ben",
            due_date=_day(7),
            viewer=SYSTEM,
        )
        experiment = add_experiment(
            session,
            action_id=action.id,
            hypothesis="Dated checks catch slips early",
            metric="slipped dependencies per quarter",
            comparator="<=",
            threshold=1,
            start_date=_day(0),
            end_date=_day(30),
            viewer=SYSTEM,
        )
        ids = (logged.id, action.id, experiment.id)
    app = create_app(database=db)
    with TestClient(app, headers=as_user(db, "ana")) as api, TestClient(create_app(database=db)) as web:
        pages = Browser(web)
        assert pages.login("ana").status_code == 303
        yield World(*ids, api=api, cli=Cli(db.settings.database_url), pages=pages)


@dataclass(frozen=True)
class Case:
    """One bad input to one command, as each adapter takes it; ``field`` is what all three name."""

    name: str
    field: str
    api: Any  # (path, json) from the world's ids, or (path, json, method) for other than POST
    cli: Any  # argv from the world's ids; None where the CLI has no such command
    page: Any  # (path, form data, the page the form is on, the error element's id); None: no page


CASES = [
    Case(
        "add an action with a due date nobody can read",
        "due_date",
        lambda w: (
            "/actions",
            {"failure_id": w.failure_id, "title": "Add a check", "owner": "ben", "due_date": "next week"},
        ),
        lambda w: ["action", "add", str(w.failure_id), "Add a check", "--owner", "ben", "--due", "next week"],
        lambda w: (
            f"/failures/{w.failure_id}/actions",
            {"title": "Add a check", "owner": "ben", "due_date": "next week"},
            f"/failures/{w.failure_id}",
            "act-due_date-error",
        ),
    ),
    Case(
        "add an experiment with a comparator that is not one",
        "comparator",
        lambda w: (
            "/experiments",
            {
                "action_id": w.action_id,
                "hypothesis": "Fewer slips",
                "metric": "slips",
                "comparator": "~",
                "threshold": 1,
                "end_date": _day(14),
            },
        ),
        lambda w: [
            "experiment",
            "add",
            str(w.action_id),
            "--hypothesis",
            "Fewer slips",
            "--metric",
            "slips",
            "--comparator",
            "~",
            "--threshold",
            "1",
            "--end",
            "+14d",
        ],
        lambda w: (
            f"/actions/{w.action_id}/experiments",
            {
                "hypothesis": "Fewer slips",
                "metric": "slips",
                "comparator": "~",
                "threshold": "1",
                "start_date": _day(0),
                "end_date": _day(14),
            },
            f"/failures/{w.failure_id}",
            f"exp{w.action_id}-comparator-error",
        ),
    ),
    Case(
        "record an observation with a note over the limit",
        "note",
        lambda w: (
            f"/experiments/{w.experiment_id}/observations",
            {"value": 1, "note": "n" * (limits.NOTE_MAX + 1)},
        ),
        lambda w: ["experiment", "observe", str(w.experiment_id), "1", "--note", "n" * (limits.NOTE_MAX + 1)],
        lambda w: (
            f"/experiments/{w.experiment_id}/observations",
            {"value": "1", "note": "n" * (limits.NOTE_MAX + 1)},
            f"/experiments/{w.experiment_id}",
            "f-note-error",
        ),
    ),
    Case(
        "write a lesson whose title is over the limit",
        "title",
        lambda w: ("/lessons", {"title": "t" * (limits.TITLE_MAX + 1), "learned": "Ask for dates"}),
        lambda w: ["lesson", "add", "t" * (limits.TITLE_MAX + 1), "--learned", "Ask for dates"],
        lambda w: (
            "/lessons",
            {"title": "t" * (limits.TITLE_MAX + 1), "learned": "Ask for dates"},
            "/lessons/new",
            "f-title-error",
        ),
    ),
    Case(
        "write a coaching note with an empty body",
        "body",
        lambda w: ("/coaching-notes", {"subject": "ben", "body": ""}),
        None,
        lambda w: ("/coaching/notes", {"subject": "ben", "body": ""}, "/coaching", "f-body-error"),
    ),
    Case(
        "create an API token whose name is over the limit",
        "name",
        lambda w: ("/auth/tokens", {"name": "n" * (limits.TOKEN_NAME_MAX + 1)}),
        lambda w: ["token", "create", "--user", "ana", "--name", "n" * (limits.TOKEN_NAME_MAX + 1)],
        None,  # the account page makes calendar feeds, not API tokens
    ),
    Case(
        "set notification preferences with an e-mail address over the limit",
        "email",
        lambda w: ("/notifications/preferences", {"email": "e" * (limits.EMAIL_MAX + 1)}, "PUT"),
        lambda w: ["notifications", "prefs", "ana", "--email", "e" * (limits.EMAIL_MAX + 1)],
        lambda w: (
            "/account/notifications",
            {"email": "e" * (limits.EMAIL_MAX + 1)},
            "/account",
            "prefs-email-error",
        ),
    ),
    Case(
        "answer did-this-work with something other than yes, no or partly",
        "worked",
        lambda w: (f"/actions/{w.action_id}/check", {"worked": "maybe"}),
        lambda w: ["action", "check", str(w.action_id), "--worked", "maybe"],
        None,  # the page offers the question only once the action is done and its review date came
    ),
    Case(
        "ask have-we-seen-this-before with a title over the limit",
        "title",
        lambda w: ("/similar", {"title": "t" * (limits.TITLE_MAX + 1)}),
        lambda w: ["similar", "t" * (limits.TITLE_MAX + 1)],
        None,  # no page asks this with a form
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_same_bad_input_names_the_same_field_in_every_adapter(world: World, case: Case) -> None:
    path, body, *method = case.api(world)
    answer = world.api.request((method or ["POST"])[0], f"{API}{path}", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"] == ["body", case.field]

    said = ""
    if case.cli is not None:
        line = world.cli.fails(*case.cli(world))
        assert line.startswith(f"error: {case.field}: "), line
        said = line.removeprefix(f"error: {case.field}: ")

    if case.page is None:
        return
    page_path, data, form_page, error_id = case.page(world)
    page = world.pages.post(page_path, data, form_page=form_page)
    assert page.status_code == 422, page.text[:500]
    beside = re.search(rf'id="{error_id}">(.*?)</p>', page.text, re.S)
    assert beside is not None, f"no error beside {case.field}"
    assert said in beside.group(1).replace("&#39;", "'").replace("&gt;", ">").replace("&lt;", "<")


def test_dates_read_like_the_cli_reads_them_in_every_adapter(world: World) -> None:
    """``+7d`` was the CLI's alone; the API took only ``YYYY-MM-DD``."""
    in_a_week = _day(7)
    answer = world.api.post(
        f"{API}/actions",
        json={
            "failure_id": world.failure_id,
            "title": "Date every dependency",
            "owner": "ben",
            "due_date": "+7d",
        },
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["due_date"] == in_a_week and answer.json()["review_date"] == _day(21)

    moved = world.api.post(f"{API}/actions/{answer.json()['id']}/reschedule", json={"due_date": "tomorrow"})
    assert moved.status_code == 200 and moved.json()["due_date"] == _day(1)

    world.cli("action", "add", str(world.failure_id), "Name a fallback", "--owner", "ben", "--due", "+1w")
    page = world.pages.post(
        f"/failures/{world.failure_id}/actions",
        {"title": "Write the date down", "owner": "ben", "due_date": "+7d"},
        form_page=f"/failures/{world.failure_id}",
        follow_redirects=False,
    )
    assert page.status_code == 303, page.text[:500]
    dues = world.api.get(f"{API}/actions", params={"failure": world.failure_id}).json()["items"]
    # the seeded one, the API's (moved to tomorrow), the CLI's and the page's
    assert sorted(a["due_date"] for a in dues) == [_day(1)] + [in_a_week] * 3


def test_a_missing_owner_is_said_in_the_commands_own_words() -> None:
    with pytest.raises(Invalid) as refused:
        parse_command(AddAction, {"failure_id": 1, "title": "Fix", "owner": None, "due_date": "+7d"})
    assert (refused.value.field, refused.value.message) == ("owner", "every action needs exactly one owner")


def test_a_bad_item_names_its_list_and_says_which_item() -> None:
    with pytest.raises(Invalid) as refused:
        parse_command(WriteLesson, {"title": "T", "learned": "L", "failures": ["3", "four"]})
    assert (refused.value.field, refused.value.message) == ("failures", "item 2 must be a whole number")


def test_none_is_not_given_and_blank_choices_are_no_choice() -> None:
    answers = parse_command(
        ReviewAnswers, {"root_cause": "No dated commitment", "evidence": None, "gap_type": ""}
    )
    assert answers.changes() == {"root_cause": "No dated commitment", "gap_type": None}
    with pytest.raises(Invalid) as refused:
        parse_command(ReviewAnswers, {"gap_type": "luck"})
    assert refused.value.field == "gap_type" and refused.value.message.startswith("must be one of: skill")


def test_an_edit_sends_only_the_options_given_and_blank_clears(world: World) -> None:
    fid = str(world.failure_id)
    world.cli("edit", fid, "--impact-value", "12.5", "--impact-unit", "EUR")
    assert world.api.get(f"{API}/failures/{fid}").json()["impact_value"] == 12.5
    assert "impact_value: must be a number" in world.cli.fails("edit", fid, "--impact-value", "lots")
    world.cli("edit", fid, "--impact-value", "")
    after = world.api.get(f"{API}/failures/{fid}").json()
    assert after["impact_value"] is None and after["impact_unit"] == "EUR"


def test_a_plan_with_a_date_nobody_can_read_names_review_date_in_the_api_and_the_page(
    world: World, db: Database
) -> None:
    """The plan form is on a reviewed failure's page (the CLI has no coaching commands)."""
    with db.unit(actor="test") as session:
        logged = failure(session, team="Payments", reporter="ana")
        review_id = reviewed(session, logged, gap_type="skill").id
    answer = world.api.post(
        f"{API}/development-plans",
        json={"review_id": review_id, "person": "ana", "goals": "Date things", "review_date": "next week"},
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"] == ["body", "review_date"]
    with pytest.raises(Invalid) as refused:
        parse_command(
            StartPlan, {"review_id": review_id, "person": "ana", "goals": "G", "review_date": "next week"}
        )
    page = world.pages.post(
        f"/failures/{logged.id}/plans",
        {"person": "ana", "goals": "Date things", "review_date": "next week"},
        form_page=f"/failures/{logged.id}",
    )
    assert page.status_code == 422, page.text[:500]
    beside = re.search(r'id="plan-review_date-error">(.*?)</p>', page.text, re.S)
    assert beside is not None and refused.value.message in beside.group(1).replace("&#39;", "'")


def test_an_escalation_status_that_is_not_one_names_status_in_every_adapter(
    world: World, db: Database
) -> None:
    eid = _pattern(db)
    answer = world.api.patch(f"{API}/escalations/{eid}", json={"status": "closed"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"] == ["body", "status"]

    line = world.cli.fails("escalations", "update", str(eid), "--status", "closed")
    assert line.startswith("error: status: "), line
    said = line.removeprefix("error: status: ")

    page = world.pages.post(f"/escalations/{eid}", {"status": "closed"}, form_page="/insights")
    assert page.status_code == 422, page.text[:500]
    beside = re.search(rf'id="esc{eid}-status-error">(.*?)</p>', page.text, re.S)
    assert beside is not None and said in beside.group(1).replace("&#39;", "'")


def test_too_much_text_for_the_coach_names_text_in_the_api_and_the_cli(world: World, tmp_path: Path) -> None:
    too_much = "Bob was careless. " * (limits.COACH_TEXT_MAX // 18 + 10)
    answer = world.api.post(f"{API}/coach", json={"text": too_much})
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"] == ["body", "text"]
    review = tmp_path / "review.md"
    review.write_text(too_much, encoding="utf-8")
    assert world.cli.fails("coach", str(review)).startswith("error: text: ")


def test_a_bad_person_or_team_reference_is_named_at_its_field_not_at_a_union_arm() -> None:
    """``Ref`` is an id or a handle; a wrong one must be reported at ``team``, as the other
    fields are, not at ``team.int`` and ``team.str``."""
    from lessonloop.failures.schemas import LogFailure

    with pytest.raises(ValidationError) as caught:
        LogFailure.model_validate({"title": "t", "kind": "other", "team": ["ops"]})
    assert [error["loc"] for error in caught.value.errors()] == [("team",)]
    with pytest.raises(ValidationError) as caught:
        LogFailure.model_validate({"title": "t", "kind": "other", "team": "x" * 10_000})
    assert [error["loc"] for error in caught.value.errors()] == [("team",)]
