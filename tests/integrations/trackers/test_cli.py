"""`lessonloop tracker …`: connect (secrets shown masked), map, push, status, against a stand-in."""

from __future__ import annotations

import pytest

from lessonloop.actions.service import add_action
from lessonloop.notifications.config import WorkerConfig
from lessonloop.store.engine import Database
from lessonloop.worker.runner import run_jobs
from tests.cli import Cli
from tests.factories import SYSTEM, failure, team_with_people
from tests.integrations.trackers.conftest import DUE, NOW, SECRET
from tests.integrations.trackers.standins import TOKEN, serve


@pytest.fixture
def cli(sqlite_db: Database) -> Cli:
    with sqlite_db.unit() as s:
        team_with_people(s)
        f = failure(s, team="Payments")
        add_action(
            s,
            failure_id=f.id,
            title="Date every dependency",
            owner="ben",
            due_date=DUE,
            backfill=True,
            viewer=SYSTEM,
        )
    return Cli(sqlite_db.settings.database_url)


def test_connect_map_push_and_status_from_the_command_line(cli: Cli, sqlite_db: Database) -> None:
    with serve("github") as gh:
        connected = cli(
            "tracker", "connect", "Payments", "--kind", "github", "--repo", "acme/payments",
            "--server-url", gh.url, "--token", TOKEN, "--webhook-secret", SECRET,
        ).stdout  # fmt: skip
        assert "acme/payments" in connected and "/api/v1/trackers/1/webhook" in connected
        assert TOKEN not in connected and SECRET not in connected and "••••" in connected
        cli("tracker", "map", "Payments", "ben", "ben-gh")
        shown = cli.json("tracker", "show", "Payments")
        assert shown["assignees"] == {"ben": "ben-gh"} and shown["token"].endswith(TOKEN[-4:])
        assert TOKEN not in str(shown)

        assert cli.json("tracker", "push", "1")["state"] == "queued"
        run_jobs(sqlite_db, now=NOW, config=WorkerConfig(), only={"tracker-push"})
        status = cli("tracker", "status", "1").stdout
        assert "linked" in status and "/acme/payments/issues/1" in status
        assert gh.issues[0]["assignees"] == ["ben-gh"]

    assert "must be github or jira" in cli.fails(
        "tracker", "connect", "Payments", "--kind", "gitlab", "--repo", "a/b"
    )
    cli("tracker", "disconnect", "Payments")
    assert "no tracker connection" in cli.fails("tracker", "show", "Payments")
