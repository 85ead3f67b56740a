"""Concurrent writers on one SQLite file wait their turn and all succeed (issue 11, leak 10).

Before, pysqlite's deferred ``BEGIN`` made a transaction that had read first fail at once with
"database is locked" when it tried to write after another writer committed (the busy timeout
does not apply to that upgrade), and the API answered 503. Writers now begin with
``BEGIN IMMEDIATE`` and queue (see :mod:`lessonloop.store.engine`).

The PostgreSQL run of the thread test checks the same service path there.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from sqlalchemy import func, select

from lessonloop.access.actor import SystemActor
from lessonloop.people.models import Person
from lessonloop.people.service import add_person
from lessonloop.store.engine import Database

WRITERS = 6
EACH = 15


def _write_many(db: Database, writer: int, errors: list[BaseException]) -> None:
    try:
        for n in range(EACH):
            with db.unit(actor=f"writer-{writer}") as session:
                # a read first, then the write: the pattern that used to fail on SQLite
                session.scalars(select(Person)).all()
                add_person(
                    session, name=f"W{writer} N{n}", handle=f"w{writer}-n{n}", viewer=SystemActor("test")
                )
    except BaseException as exc:  # reported by the test, not lost in the thread
        errors.append(exc)


def test_a_write_after_a_read_waits_for_the_writer_before_it(db: Database) -> None:
    """A unit that read (in a savepoint, as the outbox does) and then writes, while another
    writer commits in between: both commit. Before, the first one failed at once."""
    read_done, other_committed = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def other() -> None:
        read_done.wait()
        try:
            with db.unit(actor="other") as session:
                add_person(session, name="Other", handle="other", viewer=SystemActor("test"))
        except BaseException as exc:
            errors.append(exc)
        other_committed.set()

    thread = threading.Thread(target=other)
    thread.start()
    try:
        with db.unit(actor="first") as session, session.begin_nested():
            session.scalars(select(Person)).all()
            read_done.set()
            # Give the other writer its chance to commit first; once writers queue it cannot
            # (it waits for this unit), and this unit goes on when the wait runs out.
            other_committed.wait(timeout=1)
            add_person(session, name="First", handle="first", viewer=SystemActor("test"))
    finally:
        read_done.set()
        thread.join()
    assert errors == []
    assert _count(db) == 2


def _count(db: Database) -> int:
    with db.unit() as session:
        return session.scalar(select(func.count()).select_from(Person)) or 0


def test_threads_writing_at_once_all_succeed(db: Database) -> None:
    errors: list[BaseException] = []
    threads = [threading.Thread(target=_write_many, args=(db, w, errors)) for w in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _count(db) == WRITERS * EACH


_CHILD = textwrap.dedent(
    """
    import sys

    from sqlalchemy import select

    import lessonloop.bootstrap  # wires storage, as the app and the CLI do
    from lessonloop.access.actor import SystemActor
    from lessonloop.people.models import Person
    from lessonloop.people.service import add_person
    from lessonloop.settings import Settings
    from lessonloop.store.engine import Database

    url, writer, each = sys.argv[1], sys.argv[2], int(sys.argv[3])
    db = Database.open(Settings(database_url=url), migrate=False)
    print("ready", flush=True)
    sys.stdin.readline()  # start together
    for n in range(each):
        with db.unit(actor="writer-" + writer) as session:
            session.scalars(select(Person)).all()
            add_person(session, name=f"P{writer} N{n}", handle=f"p{writer}-n{n}", viewer=SystemActor("test"))
    db.close()
    """
)


def test_processes_writing_at_once_all_succeed(sqlite_db: Database, tmp_path: Path) -> None:
    """Several processes (the server, the worker, CLI commands) on one file: none fails."""
    url = sqlite_db.settings.database_url
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, url, str(w), str(EACH)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(4)
    ]
    for p in procs:  # every child has imported and opened the database
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    failures = []
    for p in procs:
        _out, err = p.communicate(timeout=300)
        if p.returncode != 0:
            failures.append(err.strip().splitlines()[-1:])
    assert failures == []
    assert _count(sqlite_db) == 4 * EACH
