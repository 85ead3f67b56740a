"""``lessonloop remote``: the CLI against a real server on 127.0.0.1, signed in with an API token."""

from __future__ import annotations

import json
import os
import socket
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from typer.testing import CliRunner

from lessonloop.accounts.service import issue_token, revoke_token
from lessonloop.app import create_app
from lessonloop.cli.main import app
from lessonloop.people.service import add_member, add_person, add_team
from lessonloop.remote.client import normalise_server
from lessonloop.store.engine import Database
from tests.factories import SYSTEM, failure


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(sqlite_db: Database) -> Iterator[str]:
    port = _free_port()
    config = uvicorn.Config(create_app(database=sqlite_db), host="127.0.0.1", port=port, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        running.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def tokens(sqlite_db: Database) -> dict[str, str]:
    with sqlite_db.unit(actor="setup") as session:
        payments, growth = (
            add_team(session, name="Payments", viewer=SYSTEM),
            add_team(session, name="Growth", viewer=SYSTEM),
        )
        ana = add_person(session, name="Ana Lead", handle="ana", viewer=SYSTEM)
        gil = add_person(session, name="Gil Lead", handle="gil", viewer=SYSTEM)
        add_member(session, team=payments, person=ana, role="lead", viewer=SYSTEM)
        add_member(session, team=growth, person=gil, role="lead", viewer=SYSTEM)
        failure(session, title="Vendor date slipped the partner launch", team="Payments", visibility="team")
        ana_row, ana_token = issue_token(session, ana, "laptop")
        tokens = {"ana": ana_token, "gil": issue_token(session, gil, "laptop")[1], "ana_id": str(ana_row.id)}
        return tokens


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("LESSONLOOP_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("LESSONLOOP_SERVER", raising=False)
    monkeypatch.delenv("LESSONLOOP_TOKEN", raising=False)
    # Any command that touched a local database would create this file: none may.
    monkeypatch.setenv("LESSONLOOP_DATABASE_URL", f"sqlite:///{tmp_path / 'must-not-exist.db'}")
    return CliRunner()


def run(cli: CliRunner, *args: str, input: str | None = None, code: int = 0) -> str:
    result = cli.invoke(app, list(args), input=input)
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    return result.stdout if code == 0 else result.stderr


def test_login_stores_the_token_privately_and_commands_use_it(
    server: str, tokens: dict[str, str], cli: CliRunner, tmp_path: Path
) -> None:
    out = run(cli, "remote", "login", "--server", server, input=tokens["ana"] + "\n")
    assert "signed in to" in out and "as ana" in out
    stored = tmp_path / "config" / "remote.json"
    assert stat.S_IMODE(os.stat(stored).st_mode) == 0o600
    assert json.loads(stored.read_text())["token"] == tokens["ana"]

    assert "ana on http://127.0.0.1" in run(cli, "remote", "whoami") and "Payments (lead)" in run(
        cli, "remote", "whoami"
    )
    logged = json.loads(
        run(cli, "remote", "log", "Vendor date slipped the checkout launch", "--team", "Payments", "--json")
    )
    fid = logged["failure"]["id"]
    assert logged["failure"]["team_id"] is not None
    assert [m["title"] for m in logged["matches"]][:1] == ["Vendor date slipped the partner launch"]

    listed = json.loads(run(cli, "remote", "failures", "--json"))
    assert fid in {f["id"] for f in listed["items"]} and listed["total"] == 2
    assert "Vendor date slipped" in run(cli, "remote", "search", "vendor")
    assert json.loads(run(cli, "remote", "show", str(fid), "--json"))["failure"]["reporter_id"] is not None
    patched = json.loads(run(cli, "remote", "api", "PATCH", f"/failures/{fid}", "-f", "severity=high"))
    assert patched["severity"] == "high"
    metrics = json.loads(run(cli, "remote", "api", "GET", "/metrics", "-p", "team=Payments"))
    assert metrics["totals"]["failures"] == 2
    assert not (tmp_path / "must-not-exist.db").exists()

    assert "signed out" in run(cli, "remote", "logout")
    assert "not signed in" in run(cli, "remote", "failures", code=1)


def test_what_the_server_hides_stays_hidden(server: str, tokens: dict[str, str], cli: CliRunner) -> None:
    run(cli, "remote", "login", "--server", server, "--token", tokens["gil"])
    assert json.loads(run(cli, "remote", "failures", "--json"))["total"] == 0  # a Payments team failure
    error = run(cli, "remote", "show", "1", code=1)
    assert error.startswith("error: ") and "404" in error and "Traceback" not in error


def test_bad_and_revoked_tokens_are_refused_in_one_line(
    server: str, tokens: dict[str, str], cli: CliRunner, sqlite_db: Database
) -> None:
    error = run(cli, "remote", "login", "--server", server, "--token", "ll_not-a-token", code=1)
    assert "401" in error and len(error.strip().splitlines()) == 1
    run(cli, "remote", "login", "--server", server, "--token", tokens["ana"])
    with sqlite_db.unit() as session:
        revoke_token(session, "ana", tokens["ana_id"])
    assert "401" in run(cli, "remote", "failures", code=1)


def test_env_overrides_and_unreachable_servers(
    server: str, tokens: dict[str, str], cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LESSONLOOP_SERVER", server)
    monkeypatch.setenv("LESSONLOOP_TOKEN", tokens["ana"])
    assert "ana on" in run(cli, "remote", "whoami")
    monkeypatch.setenv("LESSONLOOP_SERVER", f"http://127.0.0.1:{_free_port()}")
    error = run(cli, "remote", "whoami", code=1)
    assert "cannot reach" in error


def test_server_addresses() -> None:
    assert normalise_server("https://ll.example.com/api/v1/") == "https://ll.example.com"
    assert normalise_server("http://127.0.0.1:8000") == "http://127.0.0.1:8000"
    with pytest.raises(Exception, match="plain http"):
        normalise_server("http://ll.example.com")
    assert normalise_server("http://ll.example.com", allow_insecure=True) == "http://ll.example.com"
    with pytest.raises(Exception, match="not a server address"):
        normalise_server("ll.example.com")
