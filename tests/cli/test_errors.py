"""Bad input: one line naming the field, exit code 1, no traceback, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from lessonloop.failures import service as failures
from lessonloop.store.engine import Database
from tests import factories
from tests.cli import Cli
from tests.cli.test_loop import YAML_REVIEW
from tests.factories import SYSTEM, failure, team_with_people


@pytest.fixture
def cli(sqlite_db: Database) -> Cli:
    """Team Payments with ana (lead) and ben; failure 1, observed. Built by the services: fast."""
    with sqlite_db.unit() as session:
        team_with_people(session)
        failure(session, title="Release slipped")
    return Cli(sqlite_db.settings.database_url)


@pytest.fixture
def reviewed(cli: Cli, sqlite_db: Database) -> Cli:
    """Failure 1 reviewed (now acting); action 1 is its open primary action."""
    with sqlite_db.unit() as session:
        factories.reviewed(session, failures.get_failure(session, 1, viewer=SYSTEM))
    return cli


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # unknown or malformed ids
        (["show", "999"], "error: failure_id: no failure with id 999"),
        (["show", "abc"], "error: id: failure id must be a number, got 'abc'"),
        (["history", "999"], "failure_id: no failure with id 999"),
        (["status", "999", "in-review"], "failure_id: no failure with id 999"),
        (["action", "done", "999", "--evidence", "x"], "action_id: no action with id 999"),
        (["action", "add", "999", "Fix", "--owner", "ana", "--due", "+7d"], "failure_id: no failure"),
        (["experiment", "show", "7"], "experiment_id: no experiment with id 7"),
        (["lesson", "publish", "3"], "lesson_id: no lesson with id 3"),
        (["lesson", "show", "x"], "id: lesson id must be a number"),
        (["repeat", "1", "--of", "42"], "failure_id: no failure with id 42"),
        (["team", "show", "Nope"], "team: no team 'Nope'"),
        (["team", "member", "Payments", "zed"], "person: no person 'zed'"),
        (["log", "X", "--team", "Nope"], "team: no team 'Nope'"),
        (["log", "X", "--reporter", "zed"], "reporter: no person 'zed'"),
        (["failures", "--team", "Nope"], "team: no team 'Nope'"),
        # bad dates
        (["log", "X", "--occurred", "2024-13-45"], "error: occurred_at: is not a date or time"),
        (["log", "X", "--detected", "soon"], "detected_at: is not a date or time"),
        (["log", "X", "--occurred", "2999-01-01"], "occurred_at: must not be after detected_at"),
        (
            ["action", "add", "1", "Fix", "--owner", "ana", "--due", "next week"],
            "error: due_date: is not a date",
        ),
        (["action", "add", "1", "Fix", "--owner", "ana"], "due_date: is required"),
        (
            [
                "action",
                "add",
                "1",
                "Fix",
                "--owner",
                "ana",
                "--due",
                "2030-01-10",
                "--review-date",
                "2030-01-01",
            ],
            "review_date: must be on or after the due date",
        ),
        (["failures", "--since", "last tuesday"], "since: is not a date or time"),
        (["edit", "1", "--occurred", "someday"], "occurred_at: is not a date or time"),
        # missing or unknown owner
        (["action", "add", "1", "Fix", "--due", "+7d"], "error: owner: every action needs exactly one owner"),
        (["action", "add", "1", "Fix", "--owner", "zed", "--due", "+7d"], "error: owner: no person 'zed'"),
        (["action", "list", "--owner", "zed"], "owner: no person 'zed'"),
        # illegal transitions and unknown states
        (["status", "1", "learned"], "error: status: cannot go from observed to learned"),
        (["status", "1", "acting"], "status: cannot go from observed to acting"),
        (["status", "1", "observed"], "status: the failure is already observed"),
        (["status", "1", "done"], "status: must be one of"),
        (["status", "1", "repeated"], "status: a failure becomes repeated only by confirming"),
        # other fields
        (["log", "   "], "error: title: is required"),
        (["log", "X", "--kind", "oops"], "kind: must be one of"),
        (["log", "X", "--severity", "huge"], "severity: must be one of"),
        (["log", "X", "--impact-value", "lots"], "impact_value: must be a number"),
        (["person", "add", "Ana Again", "--handle", "ana"], "handle: a person with handle 'ana'"),
        (["person", "add", "Eve", "--email", "not-an-address"], "email: is not an e-mail address"),
        (["team", "add", "payments"], "name: a team named 'payments' exists already"),
        (["team", "member", "Payments", "ben", "--role", "boss"], "role: must be one of"),
        (["repeat", "1"], "of: is required"),
        (["repeat", "1", "--of", "1"], "repeat_of: a failure cannot repeat itself"),
        (["edit", "1"], "changes: nothing to change"),
        (["edit", "1", "--title", ""], "title: is required"),
        (["failures", "--page", "0"], "page: page must be 1 or more"),
        (["failures", "--status", "closed"], "status: must be one of"),
        (["search", "slipped", "--kind", "person"], "kind: must be one of"),
        (["assumptions", "--status", "maybe"], "status: must be one of"),
        (["lesson", "add", "Title only"], "learned: is required"),
        (["lesson", "add", "T", "--learned", "L", "--failure", "9"], "failure_id: no failure with id 9"),
        (["lesson", "add", "T", "--learned", "L", "--audience", "Nope"], "audience: no team 'Nope'"),
        (["review", "1", "--file", "/nonexistent/review.md"], "No such file or directory"),
        (["review", "9"], "failure_id: no failure with id 9"),
    ],
)
def test_bad_input_is_one_line_naming_the_field(cli: Cli, args: list[str], expected: str) -> None:
    assert expected in cli.fails(*args)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["action", "done", "1"], "error: evidence: is required"),
        (["action", "drop", "1"], "error: reason: is required"),
        (["action", "drop", "1", "--reason", "  "], "reason: is required"),
        (
            [
                "experiment",
                "add",
                "1",
                "--end",
                "+7d",
                "--metric",
                "m",
                "--comparator",
                ">=",
                "--threshold",
                "1",
            ],
            "hypothesis: is required",
        ),
        (
            [
                "experiment",
                "add",
                "1",
                "--end",
                "+7d",
                "--hypothesis",
                "h",
                "--metric",
                "m",
                "--comparator",
                "~",
                "--threshold",
                "1",
            ],
            "comparator: must be one of",
        ),
        (
            [
                "experiment",
                "add",
                "1",
                "--end",
                "+7d",
                "--hypothesis",
                "h",
                "--metric",
                "m",
                "--comparator",
                ">=",
                "--threshold",
                "x",
            ],
            "threshold: must be a number",
        ),
        (
            [
                "experiment",
                "add",
                "1",
                "--hypothesis",
                "h",
                "--metric",
                "m",
                "--comparator",
                ">=",
                "--threshold",
                "1",
            ],
            "end_date: is required",
        ),
        (["review", "1"], "status: review 1 is completed"),
        (["status", "1", "learned"], "status: cannot go from acting to learned"),
    ],
)
def test_bad_input_after_review(reviewed: Cli, args: list[str], expected: str) -> None:
    assert expected in reviewed.fails(*args)


def test_closing_an_action_twice_is_refused(reviewed: Cli) -> None:
    reviewed("action", "done", "1", "--evidence", "merged")
    assert "status: action 1 is done; only an open action can be completed" in reviewed.fails(
        "action", "done", "1", "--evidence", "again"
    )
    assert "status: action 1 is done" in reviewed.fails("action", "drop", "1", "--reason", "changed mind")


def test_learned_needs_the_primary_action_closed(reviewed: Cli) -> None:
    reviewed("status", "1", "re-evaluating")
    assert "status: cannot mark learned while the primary corrective action is open" in reviewed.fails(
        "status", "1", "learned"
    )
    reviewed("action", "drop", "1", "--reason", "The vendor now signs dated contracts")
    reviewed("status", "1", "learned")


def test_bad_observation_and_double_publish(reviewed: Cli) -> None:
    reviewed(
        "experiment", "add", "1", "--hypothesis", "h", "--metric", "m", "--comparator", ">=", "--threshold", "1",
        "--end", "+7d",
    )  # fmt: skip
    assert "value: must be a number" in reviewed.fails("experiment", "observe", "1", "high")
    assert "observed_at: is not a date or time" in reviewed.fails(
        "experiment", "observe", "1", "2", "--at", "x"
    )
    reviewed("lesson", "add", "T", "--learned", "L", "--publish")
    assert "published_at: lesson 1 was published already" in reviewed.fails("lesson", "publish", "1")


REVIEW_FILES = {
    "no-primary.md": ("## Root cause\nSomething\n", "primary_action: is missing"),
    "unknown.md": ("## What went well\nEverything\n", "What went well: is not a review section"),
    "twice.md": ("## Root cause\nA\n## Root cause\nB\n", "Root cause: appears twice"),
    "not-kv.md": ("## Primary action\nJust do it\n", "Primary action: expected 'key: value' lines"),
    "bad-action-key.md": ("## Primary action\nassignee: ben\n", "'assignee' is not an action field"),
    "open-front.md": ("---\nreviewers: ana\n## Root cause\nA\n", "file: front matter opened with '---'"),
    "bad.yaml": ("root_cause: [unclosed\n", "file: is not valid YAML"),
    "list.yaml": ("- a\n- b\n", "file: a YAML review file must be a mapping"),
    "gap.yaml": (YAML_REVIEW.replace("gap_type: context", "gap_type: luck"), "gap_type: must be one of"),
    "owner.yaml": (YAML_REVIEW.replace("owner: ana", "owner: zed"), "owner: no person 'zed'"),
    "due.yaml": (YAML_REVIEW.replace("due: 2030-03-01", "due: someday"), "due_date: is not a date"),
    "no-owner.yaml": (YAML_REVIEW.replace("  owner: ana\n", ""), "owner: every action needs exactly one owner"),
    "empty-answer.yaml": (YAML_REVIEW.replace("evidence: Offline AUC on last year's data only", "evidence: ''"), "evidence: answer"),
    "extra.yaml": ("mood: bad\n" + YAML_REVIEW, "mood: is not a review section"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(REVIEW_FILES))
def test_bad_review_files_are_refused_and_write_nothing(cli: Cli, tmp_path: Path, name: str) -> None:
    content, expected = REVIEW_FILES[name]
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    assert expected in cli.fails("review", "1", "--file", str(path))
    overview = cli.json("show", "1")
    assert overview["review"] is None and overview["actions"] == []
    assert overview["failure"]["status"] == "observed"


def test_nothing_is_half_written_when_a_command_fails(cli: Cli) -> None:
    before = cli.json("failures")["total"]
    cli.fails("log", "X", "--team", "Payments", "--person", "ana", "--person", "zed")
    assert cli.json("failures")["total"] == before


def test_database_errors_are_one_line(tmp_path: Path) -> None:
    cli = Cli(f"sqlite:///{tmp_path}/missing-dir/x.db")
    result = cli("person", "list", ok=False)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.startswith("error: database:")
