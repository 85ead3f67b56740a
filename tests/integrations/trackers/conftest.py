"""Shared set-up: a team with a lead (ana) and a member (ben), actions owned by ben, and the team
connected to a stand-in tracker (GitHub or Jira) — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from lessonloop.actions.service import add_action
from lessonloop.integrations.trackers import service
from lessonloop.notifications.config import WorkerConfig
from lessonloop.store.engine import Database
from lessonloop.worker.runner import run_jobs
from tests.factories import SYSTEM, failure, team_with_people
from tests.integrations.trackers.standins import JIRA_TOKEN, JIRA_USER, TOKEN, Tracker, serve

SECRET = "whsec-0123456789abcdef"
NOW = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)
DUE = dt.date(2026, 5, 20)


@dataclass
class World:
    db: Database
    tracker: Tracker
    team_id: int
    connection_id: int
    actions: list[int]

    def run(self, job: str = "tracker-push", now: dt.datetime = NOW) -> str:
        """One run of a worker job, as the worker runs it."""
        return run_jobs(self.db, now=now, config=WorkerConfig(), only={job})[job]


def connect(db: Database, tracker: Tracker, team: str = "Payments") -> int:
    with db.unit(actor="setup") as s:
        if tracker.kind == "github":
            view = service.connect_tracker(
                s,
                team=team,
                kind="github",
                target="acme/payments",
                token=TOKEN,
                webhook_secret=SECRET,
                server_url=tracker.url,
                viewer=SYSTEM,
            )
        else:
            view = service.connect_tracker(
                s,
                team=team,
                kind="jira",
                target="PAY",
                token=JIRA_TOKEN,
                webhook_secret=SECRET,
                server_url=tracker.url,
                user=JIRA_USER,
                viewer=SYSTEM,
            )
        service.map_assignee(s, team=team, person="ben", login="ben-gh", viewer=SYSTEM)
        return view.id


def seed(db: Database, tracker: Tracker, actions: int = 1) -> World:
    with db.unit(actor="setup") as s:
        people = team_with_people(s)
        f = failure(s, team="Payments", reporter="ana")
        ids = [
            add_action(
                s, failure_id=f.id, title=f"Step {i}", owner="ben", due_date=DUE, backfill=True, viewer=SYSTEM
            ).id
            for i in range(actions)
        ]
        team_id = people["team"].id
    return World(db=db, tracker=tracker, team_id=team_id, connection_id=connect(db, tracker), actions=ids)


@pytest.fixture(params=["github", "jira"])
def tracker(request: pytest.FixtureRequest) -> Iterator[Tracker]:
    with serve(request.param) as t:
        yield t


@pytest.fixture
def world(db: Database, tracker: Tracker) -> World:
    return seed(db, tracker)
