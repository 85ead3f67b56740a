"""Lists, filters, pages and `--json` shapes."""

from __future__ import annotations

import datetime as dt

import pytest

from lessonloop.actions.service import add_action
from lessonloop.experiments.service import add_experiment, record_observation
from lessonloop.lessons.service import create_lesson
from lessonloop.people.service import add_person, add_team
from lessonloop.store.engine import Database
from tests.cli import Cli
from tests.factories import SYSTEM, failure, reviewed, team_with_people

TODAY = dt.date.today()


@pytest.fixture
def cli(sqlite_db: Database) -> Cli:
    """Two teams, three failures (one reviewed), an overdue action, an experiment and two lessons."""
    with sqlite_db.unit() as session:
        people = team_with_people(session)
        ops = add_team(session, name="Ops", viewer=SYSTEM)
        add_person(session, name="Cy Ops", handle="cy", viewer=SYSTEM)
        first = failure(
            session,
            title="Checkout release missed the launch date",
            team=people["team"],
            labels=["vendor"],
            severity="high",
            detected_at="2024-03-01",
        )
        failure(
            session,
            title="Pager hand-off lost an incident",
            team=ops,
            kind="handoff-breakdown",
            detected_at="2024-04-01",
        )
        failure(session, title="Churn after the price change", team=people["team"], kind="churn-after-change")
        reviewed(session, first, owner="ben")  # action 1, primary, due in 7 days
        add_action(
            session,
            failure_id=first.id,
            title="Write the vendor playbook",
            owner="ana",
            due_date=TODAY - dt.timedelta(days=3),
            backfill=True,
            viewer=SYSTEM,
        )
        add_action(
            session,
            failure_id=first.id,
            title="Call the vendor",
            owner="ben",
            due_date=TODAY - dt.timedelta(days=1),
            backfill=True,
            viewer=SYSTEM,
        )
        experiment = add_experiment(
            session,
            action_id=1,
            hypothesis="Fewer slips",
            metric="days late",
            comparator="<=",
            threshold=2,
            start_date=TODAY,
            end_date=TODAY + dt.timedelta(days=30),
            viewer=SYSTEM,
        )
        record_observation(session, experiment.id, value=1, viewer=SYSTEM)
        create_lesson(
            session,
            title="Ask for dated commitments",
            learned="Verbal dates slip",
            failures=[first.id],
            audience=[people["team"]],
            publish=True,
            viewer=SYSTEM,
        )
        create_lesson(
            session,
            title="Overlap shift changes",
            learned="Notes are not enough",
            audience=[ops],
            viewer=SYSTEM,
        )
    return Cli(sqlite_db.settings.database_url)  # fmt: skip


def test_people_and_teams(cli: Cli) -> None:
    assert [p["handle"] for p in cli.json("person", "list")] == ["ana", "ben", "cy"]
    teams = cli.json("team", "list")
    assert [(t["name"], len(t["memberships"])) for t in teams] == [("Ops", 0), ("Payments", 2)]
    payments = cli.json("team", "show", "payments")  # names are matched case-insensitively
    assert payments["name"] == "Payments"
    assert {m["person"]["handle"]: m["role"] for m in payments["members"]} == {"ana": "lead", "ben": "member"}
    cli("team", "member", "Payments", "ben", "--role", "admin")
    assert cli.json("team", "show", "Payments")["members"][1]["role"] == "admin"
    assert "Payments" in cli("team", "list").stdout and "cy" in cli("person", "list").stdout
    assert "no members yet" in cli("team", "show", "Ops").stdout


def test_failures_filters_and_pages(cli: Cli) -> None:
    page = cli.json("failures")
    assert page["total"] == 3 and page["page"] == 1 and page["pages"] == 1
    assert page["items"][0]["title"] == "Churn after the price change"  # newest first
    assert [f["id"] for f in cli.json("failures", "--team", "Ops")["items"]] == [2]
    assert [f["id"] for f in cli.json("failures", "--status", "acting")["items"]] == [1]
    assert [f["id"] for f in cli.json("failures", "--kind", "handoff-breakdown")["items"]] == [2]
    assert [f["id"] for f in cli.json("failures", "--severity", "high")["items"]] == [1]
    assert [f["id"] for f in cli.json("failures", "--label", "vendor")["items"]] == [1]
    assert [
        f["id"] for f in cli.json("failures", "--since", "2024-03-15", "--until", "2024-05-01")["items"]
    ] == [2]
    second = cli.json("failures", "--page-size", "2", "--page", "2")
    assert (second["total"], second["pages"], len(second["items"])) == (3, 2, 1)
    out = cli("failures", "--page-size", "2").stdout
    assert "page 1 of 2 (3 failures); next: --page 2" in out
    assert "no failures" in cli("failures", "--status", "learned").stdout


def test_action_list_and_overdue(cli: Cli) -> None:
    everything = cli.json("action", "list")
    assert [a["id"] for a in everything["items"]] == [2, 3, 1]  # earliest due first
    assert [a["id"] for a in cli.json("action", "list", "--owner", "ben")["items"]] == [3, 1]
    overdue = cli.json("action", "list", "--overdue")["items"]
    assert [(a["id"], a["overdue"]) for a in overdue] == [(2, True), (3, True)]
    assert cli.json("action", "list", "--team", "Ops")["items"] == []
    assert [a["id"] for a in cli.json("action", "list", "--failure", "1", "--status", "open")["items"]] == [
        2,
        3,
        1,
    ]

    grouped = cli.json("overdue")
    assert [(g["owner"]["handle"], [a["id"] for a in g["actions"]]) for g in grouped] == [
        ("ana", [2]),
        ("ben", [3]),
    ]
    assert cli.json("overdue", "--team", "Ops") == []
    text = cli("overdue").stdout
    assert "ana (Ana Lead): 1 overdue" in text and "ben (Ben Member): 1 overdue" in text
    assert "nothing is overdue" in cli("overdue", "--team", "Ops").stdout
    cli("action", "done", "2", "--evidence", "playbook in the wiki")
    assert [g["owner"]["handle"] for g in cli.json("overdue")] == ["ben"]


def test_experiments(cli: Cli) -> None:
    listed = cli.json("experiment", "list")
    assert [(e["id"], e["verdict"]) for e in listed] == [(1, "passed")]
    assert cli.json("experiment", "list", "--action", "2") == []
    shown = cli.json("experiment", "show", "1")
    assert shown["comparator"] == "<=" and shown["threshold"] == 2 and len(shown["observations"]) == 1
    after = cli.json(
        "experiment", "observe", "1", "-3", "--note", "great week"
    )  # a negative value is a value
    assert after["verdict"] == "passed" and after["observations"][-1]["value"] == -3
    assert "verdict failed" in cli("experiment", "observe", "1", "9").stdout
    old = cli("experiment", "observe", "1", "0", "--at", "2020-01-01").stdout
    assert "verdict failed" in old  # an older measurement does not change where the metric stands now
    assert cli.json("experiment", "show", "1")["verdict"] == "failed"


def test_lessons(cli: Cli) -> None:
    published = cli.json("lesson", "list")
    assert [lesson["title"] for lesson in published["items"]] == ["Ask for dated commitments"]
    drafts = cli.json("lesson", "list", "--drafts")
    assert [lesson["title"] for lesson in drafts["items"]] == ["Overlap shift changes"]
    assert cli.json("lesson", "list", "--all")["total"] == 2
    assert cli.json("lesson", "list", "--team", "Ops")["items"] == []
    assert cli.json("lesson", "list", "--team", "Ops", "--drafts")["total"] == 1
    out = cli(
        "lesson",
        "add",
        "Shadow-run models",
        "--learned",
        "Offline AUC misleads",
        "--publish",
        "--audience",
        "Ops",
    )
    assert "published lesson 3 to Ops" in out.stdout
    assert cli.json("lesson", "list", "--team", "Ops")["total"] == 1
    cli("lesson", "publish", "2")
    assert cli.json("lesson", "show", "2")["published_at"] is not None
    assert "Notes are not enough" in cli("lesson", "show", "2").stdout


def test_assumptions_with_failure_counts(cli: Cli, sqlite_db: Database) -> None:
    with sqlite_db.unit() as session:
        reviewed(session, failure(session, title="Another vendor slip"), owner="ana")
    items = cli.json("assumptions")
    assert [(a["statement"], a["status"], a["failure_count"]) for a in items] == [
        ("Vendors keep verbal dates", "failed", 2)
    ]
    assert cli.json("assumptions", "--status", "validated") == []
    assert "Vendors keep verbal dates" in cli("assumptions").stdout


def test_search(cli: Cli) -> None:
    hits = cli.json("search", "vendor")
    assert hits and all(set(h) == {"kind", "id", "title", "snippet", "score"} for h in hits)
    assert {h["kind"] for h in hits} >= {"failure", "review", "assumption"}
    only = cli.json("search", "vendor", "--kind", "failure", "--kind", "lesson")
    assert {h["kind"] for h in only} <= {"failure", "lesson"} and only
    assert len(cli.json("search", "vendor", "--limit", "1")) == 1
    assert cli.json("search", "zebra") == []
    table = cli("search", "vendor").stdout
    assert "lessonloop show 1" in table
    assert "nothing matches 'zebra'" in cli("search", "zebra").stdout


def test_show_renders_every_part(cli: Cli) -> None:
    out = cli("show", "1").stdout
    for part in (
        "Failure 1",
        "Review 1 (completed)",
        "Actions",
        "Experiments",
        "Lessons",
        "Next steps",
        "History",
    ):
        assert part in out
    observed = cli("show", "2").stdout
    assert "No review yet." in observed and "lessonloop review 2" in observed
