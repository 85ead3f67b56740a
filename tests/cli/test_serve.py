"""`lessonloop serve`: the app factory and the demo loader are stubbed; uvicorn is not started."""

from __future__ import annotations

import socket
import sys
import types
from typing import Any

import pytest
import typer
from sqlalchemy.orm import Session

from lessonloop.cli import serve_cmds
from lessonloop.people.service import add_person, list_people
from lessonloop.settings import Settings
from lessonloop.store.engine import Database
from tests.cli import Cli
from tests.factories import SYSTEM


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Stub `lessonloop.app`, `lessonloop.demo` and the uvicorn runner; record what they get."""
    seen: dict[str, Any] = {"demo_built": 0}

    def create_app(settings: Settings, *, run_worker: bool = False) -> object:
        seen["settings"] = settings
        seen["run_worker"] = run_worker
        return "the-app"

    def workspace_is_empty(session: Session) -> bool:
        return not list_people(session, viewer=SYSTEM)

    def build_demo(session: Session) -> None:
        seen["demo_built"] += 1
        add_person(session, name="Demo Person", handle="demo", viewer=SYSTEM)

    def run_server(application: Any, host: str, port: int, on_ready: Any) -> None:
        seen.update(application=application, host=host, port=port)
        on_ready()

    monkeypatch.setitem(sys.modules, "lessonloop.app", types.SimpleNamespace(create_app=create_app))
    monkeypatch.setitem(
        sys.modules,
        "lessonloop.demo",
        types.SimpleNamespace(workspace_is_empty=workspace_is_empty, build_demo=build_demo),
    )
    monkeypatch.setattr(serve_cmds, "run_server", run_server)
    return seen


def test_serve_prints_the_address(sqlite_db: Database, served: dict[str, Any]) -> None:
    cli = Cli(sqlite_db.settings.database_url)
    out = cli("serve", "--port", "8123").stdout
    assert "lessonloop is running at http://127.0.0.1:8123/" in out
    assert (served["application"], served["host"], served["port"]) == ("the-app", "127.0.0.1", 8123)
    assert served["settings"].database_url == sqlite_db.settings.database_url
    assert served["demo_built"] == 0
    assert served["run_worker"] is True and "worker: running in this process" in out


def test_no_worker_leaves_the_schedule_to_a_separate_worker(
    sqlite_db: Database, served: dict[str, Any]
) -> None:
    out = Cli(sqlite_db.settings.database_url)("serve", "--no-worker").stdout
    assert served["run_worker"] is False and "worker: off here (--no-worker)" in out


def test_serve_on_every_interface_shows_a_usable_address(sqlite_db: Database, served: dict[str, Any]) -> None:
    out = Cli(sqlite_db.settings.database_url)("serve", "--host", "0.0.0.0").stdout
    assert "lessonloop is running at http://127.0.0.1:8000/" in out and "every interface" in out


def test_demo_if_empty_loads_the_demo_once(sqlite_db: Database, served: dict[str, Any]) -> None:
    cli = Cli(sqlite_db.settings.database_url)
    assert "loaded the demo data" in cli("serve", "--demo-if-empty").stdout
    assert [p["handle"] for p in cli.json("person", "list")] == ["demo"]  # committed before serving
    assert "loaded the demo data" not in cli("serve", "--demo-if-empty").stdout
    assert served["demo_built"] == 1


def test_serve_refuses_a_bad_port(sqlite_db: Database, served: dict[str, Any]) -> None:
    result = Cli(sqlite_db.settings.database_url)("serve", "--port", "70000", ok=False)
    assert result.exit_code == 2 and "Traceback" not in result.output  # a usage error from the parser


async def _tiny_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


def test_a_port_in_use_is_one_line_and_exit_1() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        ready: list[bool] = []
        with pytest.raises(typer.Exit) as exc:
            serve_cmds.run_server(_tiny_app, "127.0.0.1", port, lambda: ready.append(True))
    assert exc.value.exit_code == 1 and ready == []
