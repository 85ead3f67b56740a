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
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lessonloop import limits
from lessonloop.accounts import crypto
from lessonloop.actions.schemas import AddAction
from lessonloop.actions.service import add_action
from lessonloop.app import create_app
from lessonloop.errors import Invalid
from lessonloop.experiments.service import add_experiment
from lessonloop.fields import parse_command
from lessonloop.lessons.schemas import WriteLesson
from lessonloop.reviews.schemas import ReviewAnswers
from lessonloop.store.engine import Database
from tests.api.conftest import API, as_user
from tests.cli import Cli
from tests.factories import SYSTEM, failure
from tests.web.conftest import CHEAP, Browser, seed_people


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
    api: Any  # (path, json) from the world's ids
    cli: Any  # argv from the world's ids
    page: Any  # (path, form data, the page the form is on, the error element's id)


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
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_same_bad_input_names_the_same_field_in_every_adapter(world: World, case: Case) -> None:
    path, body = case.api(world)
    answer = world.api.post(f"{API}{path}", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"] == ["body", case.field]

    line = world.cli.fails(*case.cli(world))
    assert line.startswith(f"error: {case.field}: "), line
    said = line.removeprefix(f"error: {case.field}: ")

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
