"""The whole loop through the CLI: observe → interpret → act → re-evaluate, on both backends."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from lessonloop.store.engine import Database
from tests.cli import Cli

YAML_REVIEW = """\
assumption: The ranking model generalises to new markets
evidence: Offline AUC on last year's data only
what_changed: A new market with different buying patterns
root_cause: No check of model fit before a market launch
gap_type: context
gap_justification: The team did not know the new market's patterns
contributing_factors:
  - launch pressure
assumptions:
  - Offline metrics predict online behaviour
reviewers: [ana, ben]
primary_action:
  title: Add a market-fit check to the launch checklist
  owner: ana
  due: 2030-03-01
secondary_actions:
  - title: Shadow-run the model for two weeks
    owner: ben
    due: 2030-02-01
    review: 2030-02-10
"""

MARKDOWN_REVIEW = """\
---
reviewers: ana
held_at: 2024-05-02
---
# Review: the hand-off broke

## Which assumption guided the decision?
The on-call notes carry everything the next shift needs.

## What evidence did we have?
Nobody had complained before.

## What changed?
A new shift pattern with no overlap.

## Root cause
Hand-offs have no checklist and no overlap.

## Gap type
process

## Justification
Nothing in the hand-off required a check of open incidents.

## Contributing factors
- Two people on leave
- Pager rota changed the same week

## Assumptions
- Written notes are enough for a hand-off

## Primary action
title: Add a 15-minute overlap to every shift change
owner: ben
due: 2030-04-01
review: 2030-04-20

## Secondary action
title: Write the hand-off checklist
owner: ana
due: 2030-03-15
"""


def interactive_answers(owner: str = "ben", secondary_owner: str = "ana") -> str:
    lines = [
        "The vendor API would be ready by sprint 3",  # 1/3 assumption
        "A verbal promise in a call; no written date",  # 2/3 evidence
        "The vendor re-planned after a reorg",  # 3/3 what changed
        "External dependency with no agreed date or fallback",  # root cause
        "process",  # gap type
        "Nobody asked for a dated commitment",  # justification
        "launch date set before discovery",  # contributing factor 1
        "",  # done with factors
        "Vendors keep verbal dates",  # assumption 1
        "",  # done with assumptions
        "Add a dated dependency check to the kickoff checklist",  # primary: title
        owner,  # owner
        "+7d",  # due
        "",  # review date: accept due + 14 days
        "y",  # a secondary action
        "Ask the vendor for a written date",
        secondary_owner,
        "+3d",
        "",
        "n",  # no more
    ]
    return "\n".join(lines) + "\n"


def setup_people(cli: Cli) -> None:
    cli("person", "add", "Ana Lead", "--handle", "ana", "--email", "ana@example.com")
    cli("person", "add", "Ben Member", "--handle", "ben")
    cli("team", "add", "Payments")
    cli("team", "member", "Payments", "ana", "--role", "lead")
    cli("team", "member", "Payments", "ben")


def test_complete_loop(db: Database, tmp_path: Path) -> None:
    cli = Cli(db.settings.database_url)
    setup_people(cli)
    team = cli.json("team", "show", "Payments")
    assert [(m["person"]["handle"], m["role"]) for m in team["members"]] == [
        ("ana", "lead"),
        ("ben", "member"),
    ]

    # Observe
    logged = cli.json(
        "log",
        "Checkout release missed the launch date",
        "--what",
        "The vendor API arrived two weeks late",
        "--kind",
        "missed-deadline",
        "--severity",
        "high",
        "--team",
        "Payments",
        "--reporter",
        "ana",
        "--person",
        "ben",
        "--label",
        "vendor",
        "--impact",
        "two weeks of lost sales",
        "--impact-value",
        "12000",
        "--impact-unit",
        "EUR",
        "--occurred",
        "2024-05-01",
    )
    fid = logged["id"]
    assert logged["status"] == "observed" and logged["severity"] == "high"
    assert logged["labels"] == ["vendor"] and [p["handle"] for p in logged["people"]] == ["ben"]
    assert logged["impact_value"] == 12000 and logged["impact_unit"] == "EUR"
    quiet = cli("log", "A second failure", "--team", "Payments", "-q").stdout.strip()
    third = cli("log", "The hand-off broke", "-q").stdout.strip()
    assert quiet.isdigit() and third.isdigit()

    # Interpret: interactively, then from a YAML and a Markdown file
    result = cli("review", str(fid), input=interactive_answers())
    assert "Which assumption guided the decision?" in result.stdout
    assert f"failure {fid} is now acting" in result.stdout

    yaml_file = tmp_path / "review.yaml"
    yaml_file.write_text(YAML_REVIEW, encoding="utf-8")
    cli("review", quiet, "--file", str(yaml_file))
    md_file = tmp_path / "review.md"
    md_file.write_text(MARKDOWN_REVIEW, encoding="utf-8")
    cli("review", third, "--file", str(md_file))

    yaml_overview = cli.json("show", quiet)
    assert yaml_overview["review"]["gap_type"] == "context"
    assert [p["handle"] for p in yaml_overview["review"]["reviewers"]] == ["ana", "ben"]
    assert [(a["is_primary"], a["owner"]["handle"]) for a in yaml_overview["actions"]] == [
        (False, "ben"),
        (True, "ana"),
    ]
    md_overview = cli.json("show", third)
    md_review = md_overview["review"]
    assert md_review["what_changed"] == "A new shift pattern with no overlap."
    assert md_review["contributing_factors"] == ["Two people on leave", "Pager rota changed the same week"]
    assert [a["statement"] for a in md_review["assumptions"]] == ["Written notes are enough for a hand-off"]
    assert md_review["held_at"].startswith("2024-05-02")
    primary_md = next(a for a in md_overview["actions"] if a["is_primary"])
    assert (primary_md["due_date"], primary_md["review_date"]) == ("2030-04-01", "2030-04-20")

    # Act
    overview = cli.json("show", str(fid))
    assert overview["failure"]["status"] == "acting"
    primary = next(a for a in overview["actions"] if a["is_primary"])
    due = dt.date.fromisoformat(primary["due_date"])
    assert due == dt.date.today() + dt.timedelta(days=7)
    assert dt.date.fromisoformat(primary["review_date"]) == due + dt.timedelta(days=14)
    assert primary["owner"]["handle"] == "ben"
    cli("status", str(fid), "learned", ok=False)  # the primary action is still open
    cli("action", "done", str(primary["id"]), "--evidence", "checklist step merged in PR 42")
    experiment = cli.json(
        "experiment",
        "add",
        str(primary["id"]),
        "--hypothesis",
        "Dated dependencies cut slips",
        "--metric",
        "days late",
        "--comparator",
        "<=",
        "--threshold",
        "2",
        "--end",
        "+30d",
    )
    assert experiment["verdict"] == "inconclusive"
    observed = cli("experiment", "observe", str(experiment["id"]), "5", "--note", "first sprint")
    assert "verdict failed" in observed.stdout
    observed = cli("experiment", "observe", str(experiment["id"]), "1")
    assert "verdict passed" in observed.stdout

    # Re-evaluate
    cli("status", str(fid), "re-evaluating")
    drafted = cli(
        "lesson",
        "add",
        "Ask for dated commitments",
        "--learned",
        "Verbal dates from vendors slip",
        "--changed",
        "The kickoff checklist asks for a written date",
        "--failure",
        str(fid),
        "--audience",
        "Payments",
        "--author",
        "ana",
    )
    lesson_id = drafted.stdout.split("drafted lesson ", 1)[1].split(":", 1)[0]
    cli("lesson", "publish", lesson_id)
    cli("status", str(fid), "learned")

    final = cli.json("show", str(fid))
    assert final["failure"]["status"] == "learned"
    review = final["review"]
    assert review["status"] == "completed"
    assert review["assumption_text"] == "The vendor API would be ready by sprint 3"
    assert review["gap_type"] == "process"
    assert review["contributing_factors"] == ["launch date set before discovery"]
    assert [a["statement"] for a in review["assumptions"]] == ["Vendors keep verbal dates"]
    assert sorted((a["is_primary"], a["status"]) for a in final["actions"]) == [
        (False, "open"),
        (True, "done"),
    ]
    done = next(a for a in final["actions"] if a["is_primary"])
    assert done["evidence"] == "checklist step merged in PR 42"
    assert [(e["verdict"], len(e["observations"])) for e in final["experiments"]] == [("passed", 2)]
    assert [(lesson["title"], lesson["audience"]) for lesson in final["lessons"]] == [
        ("Ask for dated commitments", ["Payments"])
    ]
    assert final["lessons"][0]["published_at"] is not None
    assert final["next_steps"] == []  # learned is final

    statuses = [
        tuple(h["changes"]["status"])
        for h in cli.json("history", str(fid))
        if h["action"] == "failure update" and "status" in h["changes"]
    ]
    assert statuses == [
        ("observed", "in-review"),
        ("in-review", "acting"),
        ("acting", "re-evaluating"),
        ("re-evaluating", "learned"),
    ]
    assert final["history"][0]["action"] == "failure create"

    # The human views render without error and show the essentials.
    shown = cli("show", str(fid)).stdout
    assert "learned" in shown and "Review" in shown and "History" in shown
    assert "1 published lesson" in cli("lesson", "list").stdout
    assert cli.json("lesson", "show", lesson_id)["failure_ids"] == [fid]


def test_interactive_review_reasks_until_answers_are_valid(sqlite_db: Database) -> None:
    cli = Cli(sqlite_db.settings.database_url)
    setup_people(cli)
    fid = cli("log", "Release slipped", "-q").stdout.strip()
    answers = interactive_answers().split("\n")
    answers.insert(4, "bogus")  # a gap type that does not exist
    owner_at = answers.index("ben")
    answers[owner_at : owner_at + 2] = ["nobody", "ben", "not-a-date", "+7d"]
    result = cli("review", fid, input="\n".join(answers))
    assert "gap_type: must be one of" in result.stderr
    assert "owner: no person 'nobody'" in result.stderr
    assert "due_date: is not a date" in result.stderr
    review = cli.json("show", fid)["review"]
    assert review["status"] == "completed" and review["gap_type"] == "process"


def test_aborted_interactive_review_writes_nothing(sqlite_db: Database) -> None:
    cli = Cli(sqlite_db.settings.database_url)
    setup_people(cli)
    fid = cli("log", "Release slipped", "-q").stdout.strip()
    result = cli("review", fid, input="Only the first answer\n", ok=False)
    assert result.exit_code == 1 and "Traceback" not in result.output
    overview = cli.json("show", fid)
    assert overview["review"] is None and overview["failure"]["status"] == "observed"


def test_review_template_round_trip(sqlite_db: Database, tmp_path: Path) -> None:
    cli = Cli(sqlite_db.settings.database_url)
    setup_people(cli)
    fid = cli("log", "Release slipped", "-q").stdout.strip()
    template = cli("review", fid, "--template").stdout
    assert template.startswith(f"# Review of failure {fid}: Release slipped")
    filled = (
        template.replace(
            "## Which assumption guided the decision?\n", "## Which assumption guided the decision?\nA\n"
        )
        .replace("## What evidence did we have?\n", "## What evidence did we have?\nB\n")
        .replace("## What changed?\n", "## What changed?\nC\n")
        .replace("## Root cause\n", "## Root cause\nD\n")
        .replace("## Gap type\n", "## Gap type\nskill\n")
        .replace("## Justification\n", "## Justification\nNobody had done it before\n")
        .replace("title:\nowner:\ndue:\n", "title: Pair on the next release\nowner: ana\ndue: 2030-01-01\n")
    )
    path = tmp_path / "filled.md"
    path.write_text(filled, encoding="utf-8")
    cli("review", fid, "--file", str(path))
    overview = cli.json("show", fid)
    assert overview["review"]["gap_type"] == "skill"
    assert overview["review"]["contributing_factors"] == [] and overview["review"]["assumptions"] == []
    assert [a["title"] for a in overview["actions"]] == ["Pair on the next release"]


def test_reviewer_and_held_options_apply_to_a_file(sqlite_db: Database, tmp_path: Path) -> None:
    cli = Cli(sqlite_db.settings.database_url)
    setup_people(cli)
    fid = cli("log", "Model drifted", "-q").stdout.strip()
    path = tmp_path / "r.yml"
    path.write_text(YAML_REVIEW, encoding="utf-8")
    cli("review", fid, "--file", str(path), "--reviewer", "ben", "--held", "2024-06-01")
    review = cli.json("show", fid)["review"]
    assert [p["handle"] for p in review["reviewers"]] == ["ben"]
    assert review["held_at"].startswith("2024-06-01")


def test_review_after_a_manual_move_to_in_review(sqlite_db: Database, tmp_path: Path) -> None:
    cli = Cli(sqlite_db.settings.database_url)
    setup_people(cli)
    fid = cli("log", "Model drifted", "-q").stdout.strip()
    cli("status", fid, "in-review")
    path = tmp_path / "r.yaml"
    path.write_text(YAML_REVIEW, encoding="utf-8")
    cli("review", fid, "--file", str(path))
    assert cli.json("show", fid)["failure"]["status"] == "acting"


def test_edit_repeat_and_history(sqlite_db: Database) -> None:
    cli = Cli(sqlite_db.settings.database_url)
    setup_people(cli)
    first = cli("log", "Churn after the price change", "--label", "pricing", "-q").stdout.strip()
    later = cli("log", "Churn after the second price change", "-q").stdout.strip()
    cli(
        "edit",
        first,
        "--severity",
        "critical",
        "--team",
        "Payments",
        "--label",
        "pricing",
        "--label",
        "churn",
        "--person",
        "ana",
        "--impact-value",
        "30",
        "--impact-unit",
        "customers",
    )
    edited = cli.json("show", first)["failure"]
    assert edited["severity"] == "critical" and edited["labels"] == ["churn", "pricing"]
    assert [p["handle"] for p in edited["people"]] == ["ana"] and edited["team_id"] is not None
    cli("edit", first, "--label", "", "--person", "", "--team", "")
    cleared = cli.json("show", first)["failure"]
    assert cleared["labels"] == [] and cleared["people"] == [] and cleared["team_id"] is None

    out = cli("repeat", later, "--of", first).stdout
    assert f"failure {later} repeats failure {first}" in out
    assert cli.json("show", first)["repeats"] == [int(later)]
    assert cli.json("show", later)["failure"]["status"] == "repeated"
    changes = [h["changes"] for h in cli.json("history", first) if h["action"] == "failure update"]
    assert changes[0]["severity"] == ["medium", "critical"]
    assert "severity" in cli("history", first).stdout
