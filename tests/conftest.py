"""Fixtures: a fresh database per test on SQLite and on PostgreSQL.

PostgreSQL: each test run creates its own database (``lessonloop_test_<pid>_<random>``) and
drops it at the end, so runs never see each other; tables are emptied between tests. Under
``CI=true`` an unreachable PostgreSQL fails the run instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

import lessonloop.bootstrap  # noqa: F401  (wires the layers into storage)
from lessonloop.settings import Settings
from lessonloop.store.engine import Database
from lessonloop.store.registry import metadata

PG_ADMIN_URL = os.environ.get("LESSONLOOP_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _pg_available() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any connection problem means "not here"
        return str(exc).splitlines()[0]


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    problem = _pg_available()
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI=true but unreachable: {problem}")
        pytest.skip(f"PostgreSQL unreachable: {problem}")
    name = f"lessonloop_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_database(pg_url: str) -> Iterator[Database]:
    db = Database.open(Settings(database_url=pg_url))  # migrates once per run
    yield db
    db.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file copied for each test: migrating once keeps the suite fast."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database.open(Settings(database_url=f"sqlite:///{path}"))
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return path


def _empty_pg(db: Database) -> None:
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(
            text(
                f"TRUNCATE {names}, search_documents, search_terms, search_tail, search_list_builds "
                "RESTART IDENTITY CASCADE"
            )
        )


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    """An empty, migrated database; tests using it run once per backend."""
    if request.param == "sqlite":
        path = tmp_path / "lessonloop.db"
        shutil.copy(sqlite_template, path)
        database = Database.open(Settings(database_url=f"sqlite:///{path}"), migrate=False)
        yield database
        database.close()
    else:
        database = request.getfixturevalue("pg_database")
        _empty_pg(database)
        yield database


@pytest.fixture
def pg_db(pg_database: Database) -> Database:
    """PostgreSQL only, emptied: for what exists only there (its tsvector column, COPY)."""
    _empty_pg(pg_database)
    return pg_database


@pytest.fixture
def sqlite_db(tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    """SQLite only, for tests of adapters (CLI, API) where the backend does not matter."""
    path = tmp_path / "lessonloop.db"
    shutil.copy(sqlite_template, path)
    database = Database.open(Settings(database_url=f"sqlite:///{path}"), migrate=False)
    yield database
    database.close()


@pytest.fixture
def session(db: Database) -> Iterator[Session]:
    """A session whose work is committed at the end, like a CLI command or request."""
    with db.unit(actor="tester") as s:
        yield s


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA_DIR.is_dir():
        pytest.skip("../shared/data is absent (a fresh clone has none)")
    return DATA_DIR
