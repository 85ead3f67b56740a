"""Review templates and extra answers through the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lessonloop.store.engine import Database
from tests.cli import Cli

QUESTIONS: list[dict[str, Any]] = [
    {"key": "whys", "label": "Five whys", "type": "list", "max_items": 3},
    {"key": "timeline", "label": "Timeline", "type": "timeline"},
]


def _setup(cli: Cli) -> None:
    cli("team", "add", "Payments")
    cli("person", "add", "Ana Ruiz", "--handle", "ana")
    cli("team", "member", "Payments", "ana", "--role", "lead")
    cli("log", "Checkout v2 missed the launch", "--team", "Payments", "--kind", "missed-deadline")


def test_show_set_and_reset_a_template(sqlite_db: Database, tmp_path: Path) -> None:
    cli = Cli(sqlite_db.settings.database_url)
    shown = cli.json("review-template", "show", "missed-deadline")
    assert shown["customized"] is False and shown["questions"][0]["type"] == "timeline"
    file = tmp_path / "questions.json"
    file.write_text(json.dumps(QUESTIONS), encoding="utf-8")
    assert "2 questions" in cli("review-template", "set", "missed-deadline", "--file", str(file)).stdout
    shown = cli.json("review-template", "show", "missed-deadline")
    assert shown["customized"] and [q["key"] for q in shown["questions"]] == ["whys", "timeline"]
    assert "Five whys" in cli("review-template", "show", "missed-deadline").stdout
    cli("review-template", "reset", "missed-deadline")
    assert cli.json("review-template", "show", "missed-deadline")["customized"] is False
    assert "no failure kind" in cli.fails("review-template", "show", "launch-party")
    file.write_text(json.dumps([{"label": "x", "type": "poem"}]), encoding="utf-8")
    assert "type" in cli.fails("review-template", "set", "other", "--file", str(file))


def test_review_takes_extra_answers_and_the_postmortem_shows_them(
    sqlite_db: Database, tmp_path: Path
) -> None:
    cli = Cli(sqlite_db.settings.database_url)
    _setup(cli)
    file = tmp_path / "questions.yaml"
    file.write_text(json.dumps({"questions": QUESTIONS}), encoding="utf-8")
    cli("review-template", "set", "missed-deadline", "--file", str(file))
    review = tmp_path / "review.yaml"
    review.write_text(
        """\
assumption: The vendor API would be ready by sprint 3
evidence: A verbal promise
what_changed: The vendor re-planned
root_cause: No dated commitment for a dependency
gap_type: process
gap_justification: No step asked for a date
extra_answers:
  timeline:
    - {time: "Mon 09:00", text: "Vendor said it slips"}
primary_action:
  title: Add a dated dependency check to the kickoff checklist
  owner: ana
  due: 2030-03-01
""",
        encoding="utf-8",
    )
    assert "extra" in cli.fails("review", "1", "--file", str(review), "--extra", "novalue")
    out = cli(
        "review",
        "1",
        "--file",
        str(review),
        "--extra",
        "whys=No written date",
        "--extra",
        "whys=Nobody asked",
    ).stdout
    assert "review completed" in out
    doc = cli("postmortem", "1").stdout
    assert "## More questions" in doc and "### Five whys" in doc
    assert "1. No written date" in doc and "2. Nobody asked" in doc
    assert "| Mon 09:00 | Vendor said it slips |" in doc


def test_the_interview_asks_the_extra_questions(sqlite_db: Database, tmp_path: Path) -> None:
    cli = Cli(sqlite_db.settings.database_url)
    _setup(cli)
    file = tmp_path / "questions.json"
    file.write_text(json.dumps(QUESTIONS[:1]), encoding="utf-8")
    cli("review-template", "set", "missed-deadline", "--file", str(file))
    answers = [
        "We assumed the vendor date",
        "A call",
        "A reorg",
        "First why",
        "",  # the list ends
        "No dated commitment",
        "process",
        "No step asked for it",
        "",
        "",
        "Add a dated dependency check",
        "ana",
        "2030-03-01",
        "",
        "n",
    ]
    out = cli("review", "1", "--more-questions", input="\n".join(answers) + "\n").stdout
    assert "Five whys 1" in out and "review completed" in out
    assert "1. First why" in cli("postmortem", "1").stdout


def test_without_more_questions_the_interview_asks_only_the_required_ones(
    sqlite_db: Database, tmp_path: Path
) -> None:
    cli = Cli(sqlite_db.settings.database_url)
    _setup(cli)
    file = tmp_path / "questions.json"
    file.write_text(json.dumps([{**QUESTIONS[0], "required": True}, QUESTIONS[1]]), encoding="utf-8")
    cli("review-template", "set", "missed-deadline", "--file", str(file))
    answers = [
        "A",
        "B",
        "C",
        "First why",
        "",
        "Root",
        "process",
        "No step",
        "",
        "",
        "Add a check",
        "ana",
        "2030-03-01",
        "",
        "n",
    ]
    out = cli("review", "1", input="\n".join(answers) + "\n").stdout
    assert "Five whys (required) 1" in out and "Timeline" not in out and "review completed" in out
