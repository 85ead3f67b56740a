"""The Server-Timing header: off by default; when on, it counts the request's own statements."""

from __future__ import annotations

import dataclasses

from fastapi.testclient import TestClient

from lessonloop.app import create_app
from lessonloop.server_timing import parse_server_timing
from lessonloop.settings import get_settings
from lessonloop.store.engine import Database


def test_off_by_default(db: Database) -> None:
    assert get_settings({}).server_timing is False
    with TestClient(create_app(database=db)) as client:
        assert "server-timing" not in client.get("/healthz").headers


def test_the_setting_reads_the_environment() -> None:
    assert get_settings({"LESSONLOOP_SERVER_TIMING": "1"}).server_timing is True
    assert get_settings({"LESSONLOOP_SERVER_TIMING": "off"}).server_timing is False


def test_counts_the_statements_of_each_request_alone(db: Database) -> None:
    settings = dataclasses.replace(db.settings, server_timing=True)
    with TestClient(create_app(settings=settings, database=db)) as client:
        health = parse_server_timing(client.get("/healthz").headers["server-timing"])
        assert health["queries"] == 1  # SELECT 1, nothing left over from start-up
        assert health["app_ms"] >= health["db_ms"] >= 0
        # A statement outside any request is not counted into the next one.
        with db.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
            conn.exec_driver_sql("SELECT 1")
        assert parse_server_timing(client.get("/healthz").headers["server-timing"])["queries"] == 1
        login = parse_server_timing(client.get("/login").headers["server-timing"])
        assert login["queries"] >= 1  # the page asks whether any account exists yet


def test_two_apps_on_one_database_count_once(db: Database) -> None:
    settings = dataclasses.replace(db.settings, server_timing=True)
    create_app(settings=settings, database=db)
    with TestClient(create_app(settings=settings, database=db)) as client:
        assert parse_server_timing(client.get("/healthz").headers["server-timing"])["queries"] == 1
