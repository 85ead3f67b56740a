"""The worker's schedule inside the server's process: `make run` needs no second command.

The first test drives the app factory (its lifespan starts and stops the thread); the second runs
`lessonloop serve` as a user would and waits for a reminder to be delivered in-app, then stops
the server with SIGTERM.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from fastapi.testclient import TestClient

from lessonloop.actions.service import add_action
from lessonloop.app import create_app
from lessonloop.notifications.models import Notification
from lessonloop.settings import Settings
from lessonloop.store.engine import Database
from tests.factories import SYSTEM, failure, team_with_people


def _seed_due_action(db: Database) -> None:
    with db.unit() as s:
        team_with_people(s)
        f = failure(s, team="Payments")
        add_action(
            s,
            failure_id=f.id,
            title="Dated check",
            owner="ben",
            due_date=dt.date.today() + dt.timedelta(days=1),
            viewer=SYSTEM,
        )


def _reminders(db: Database) -> int:
    with db.unit() as s:
        return s.query(Notification).filter(Notification.kind == "reminder").count()


def _wait_for(predicate: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def test_the_app_runs_the_schedule_while_it_is_up_and_stops_it_after(db: Database) -> None:
    _seed_due_action(db)
    app = create_app(database=db, run_worker=True)
    with TestClient(app):
        worker = app.state.worker
        assert worker is not None and worker.running
        assert _wait_for(lambda: _reminders(db) == 1, 60), "no reminder while the app was up"
    assert not worker.running  # the lifespan's shutdown ended the thread


def test_an_app_built_without_the_worker_runs_no_jobs(db: Database) -> None:
    app = create_app(database=db)
    with TestClient(app):
        assert app.state.worker is None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_delivers_a_reminder_without_a_second_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'served.db'}"
    db = Database.open(Settings(database_url=url))
    try:
        _seed_due_action(db)
    finally:
        db.close()
    port = _free_port()
    env = {**os.environ, "LESSONLOOP_DATABASE_URL": url, "LESSONLOOP_WORKER_INTERVAL": "1"}
    process = subprocess.Popen(
        [sys.executable, "-c", "from lessonloop.cli.main import main; main()", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        db = Database.open(Settings(database_url=url))
        try:
            assert _wait_for(lambda: _reminders(db) == 1, 90), "serve delivered no reminder"
        finally:
            db.close()
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=60)[0].decode()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "worker: running in this process every 1s" in output
    assert "Traceback" not in output
