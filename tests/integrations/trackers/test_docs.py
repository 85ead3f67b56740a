"""docs/integrations.md's tracker section stays true: its set-up example runs as written (with the
GitHub stand-in in place of github.com), and its settings table lists exactly the settings read."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from lessonloop.actions.service import add_action
from lessonloop.notifications.config import WorkerConfig
from lessonloop.people.service import add_team
from lessonloop.store.engine import Database
from lessonloop.worker.runner import run_jobs
from tests.cli import Cli
from tests.factories import SYSTEM, failure, team_with_people
from tests.integrations.trackers.conftest import DUE, NOW, SECRET
from tests.integrations.trackers.standins import JIRA_TOKEN, TOKEN, serve

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "integrations.md"


def section() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("## Issue-tracker sync for actions")
    return text[start : text.index("\n## ", start + 1)]


def commands() -> list[list[str]]:
    block = re.search(r"```sh\n(.*?)```", section(), re.S)
    assert block is not None
    joined = block.group(1).replace("\\\n", " ")
    return [shlex.split(line, comments=True) for line in joined.splitlines() if line.split("#")[0].strip()]


def test_the_set_up_example_runs(sqlite_db: Database) -> None:
    with sqlite_db.unit() as s:
        team_with_people(s)
        add_team(s, name="Ops", viewer=SYSTEM)
        f = failure(s, team="Payments")
        for i in range(12):
            add_action(
                s, failure_id=f.id, title=f"Step {i}", owner="ben", due_date=DUE, backfill=True, viewer=SYSTEM
            )
    cli = Cli(sqlite_db.settings.database_url)
    env = {"$GITHUB_TOKEN": TOKEN, "$JIRA_API_TOKEN": JIRA_TOKEN, "$WEBHOOK_SECRET": SECRET}
    ran = []
    with serve("github") as gh:
        for argv in commands():
            assert argv[0] == "lessonloop"
            args = [env.get(a, a) for a in argv[1:]]
            if args[:2] == ["tracker", "connect"] and "github" in args:
                args += ["--server-url", gh.url]  # the stand-in instead of api.github.com
            if args[:2] == ["tracker", "status"]:
                run_jobs(sqlite_db, now=NOW, config=WorkerConfig(), only={"tracker-push"})
            ran.append((args[:2], cli(*args).stdout))
    assert [a for a, _ in ran] == [["tracker", "connect"]] * 2 + [
        ["tracker", a] for a in ("map", "show", "push", "status")
    ]
    shown, status = ran[3][1], ran[5][1]
    assert "••••" in shown and TOKEN not in shown
    assert "linked" in status and "/acme/payments/issues/1 (open)" in status
    assert gh.issues[0]["assignees"] == ["ben-gh"]


def test_the_settings_table_lists_what_lessonloop_reads() -> None:
    documented = set(re.findall(r"`(LESSONLOOP_TRACKER_[A-Z_]+)`", section()))
    read = set(
        re.findall(r'"(LESSONLOOP_TRACKER_[A-Z_]+)"', (ROOT / "src/lessonloop/settings.py").read_text())
    )
    assert documented == read and read
