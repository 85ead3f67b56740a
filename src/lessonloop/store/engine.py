"""Engines, sessions and the unit of work.

Nothing here runs at import time: callers build an engine from a :class:`Settings`. The caller
of a service owns the transaction: :func:`unit_of_work` commits once at the end, or rolls
everything back, so a failure in the middle leaves nothing half-written.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Hashable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from lessonloop.settings import Settings
from lessonloop.store.history import record_flush
from lessonloop.store.registry import install_session_hooks, require_wired
from lessonloop.store.search import index_flush
from lessonloop.store.version import DataVersion

#: How long a SQLite writer waits for the one before it before giving up ("database is locked").
#: Writers queue rather than fail: a long import or a burst of requests only makes others wait.
BUSY_TIMEOUT_S = 30.0

# Statements that only read: they run outside any transaction until the first write (as pysqlite
# has always done), so a unit that only reads never takes the write lock and reads stay concurrent.
_READ_ONLY = re.compile(r"\s*(SELECT|PRAGMA|EXPLAIN|VALUES)\b", re.IGNORECASE)
_CTE_WRITE = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)
_PENDING = "lessonloop_begin_pending"  # connection info keys
_HOLDS = "lessonloop_writer_queue"


def _is_read(statement: str) -> bool:
    if _READ_ONLY.match(statement):
        return True
    return statement.lstrip()[:4].upper() == "WITH" and not _CTE_WRITE.search(statement)


class WriterQueue:
    """One writer at a time per database file within this process; the others wait in line.

    SQLite's own busy handler (``busy_timeout``) makes a blocked writer poll with growing sleeps,
    so under load a writer can lose every race until its timeout runs out. Threads of one process
    instead wait on this lock, first come first served; other processes still meet at SQLite's
    lock, where ``busy_timeout`` makes them wait. A thread that already holds the queue through
    another connection does not wait on itself: SQLite decides (and times out) as before.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None

    def acquire(self, timeout: float) -> bool:
        me = threading.get_ident()
        if self._owner == me or not self._lock.acquire(timeout=timeout):
            return False  # SQLite's busy timeout still applies to BEGIN IMMEDIATE
        self._owner = me
        return True

    def release(self) -> None:
        self._owner = None
        self._lock.release()


_queues: dict[str, WriterQueue] = {}
_queues_lock = threading.Lock()


def writer_queue(path: str) -> WriterQueue:
    with _queues_lock:
        return _queues.setdefault(os.path.realpath(path), WriterQueue())


#: How much of a SQLite file each connection reads through a memory map (1 GiB: a 100k-failure
#: workspace is ~0.5 GB).
SQLITE_MMAP_BYTES = 1 << 30


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # pysqlite must not begin transactions itself (its deferred BEGIN is the bug: see
    # _sqlite_writes_wait); the begin/before_cursor_execute hooks do it.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    # WAL lets the web server read while the worker or CLI writes; busy_timeout makes a writer
    # wait for the one before it instead of failing at once; foreign keys are off by default.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
    cur.execute("PRAGMA foreign_keys=ON")
    # Read the file through a memory map (decision 43): a page joins its rows to their failure
    # by primary key, and with SQLite's own 2 MB page cache each of those lookups on the wide
    # failure rows was a read() of a page; mapped, they are memory reads of the OS's cache
    # (0.4-0.7x the time for the pages' counts and joins at 100k failures). Shared by every
    # connection to the file, and given back by the OS under memory pressure.
    cur.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
    cur.close()


def _postgres_session(dbapi_conn: Any, _record: Any) -> None:
    """Each PostgreSQL connection runs without JIT compilation (decision 73). PostgreSQL
    compiles a statement whose planner cost passes ``jit_above_cost`` (100,000), and at 1M
    failures ordinary page statements pass it: the escalations' check on the insights page
    spent 9.4 ms of its 33 compiling. JIT pays for itself on statements of seconds; a page's
    statements take milliseconds. Set once per connection (pooled), outside any transaction,
    so no rollback can undo it."""
    autocommit = dbapi_conn.autocommit
    dbapi_conn.autocommit = True
    try:
        with dbapi_conn.cursor() as cur:
            cur.execute("SET jit = off")
    finally:
        dbapi_conn.autocommit = autocommit


def _sqlite_writes_wait(engine: Engine) -> None:
    """Every write transaction starts with ``BEGIN IMMEDIATE``, after the reads before it.

    pysqlite's deferred ``BEGIN`` (and a ``SAVEPOINT`` outside a transaction) takes a read
    snapshot first and asks for the write lock only at the first write; if another writer
    committed in between, SQLite cannot wait and answers "database is locked" at once, whatever
    the busy timeout (the API's 503). ``BEGIN IMMEDIATE`` takes the write lock up front, where
    the busy timeout does apply, so writers wait their turn. It is emitted just before the first
    statement that writes (or opens a savepoint), so read-only units never take the lock.
    """
    database = engine.url.database or ""
    queue = None if database in ("", ":memory:") or "mode=memory" in database else writer_queue(database)

    def begin(conn: Connection) -> None:
        conn.info[_PENDING] = True  # no BEGIN yet: reads need none

    def before_execute(conn: Connection, cursor: Any, statement: str, *_args: Any) -> None:
        if not conn.info.get(_PENDING) or _is_read(statement):
            return
        conn.info[_PENDING] = False
        if queue is not None and queue.acquire(BUSY_TIMEOUT_S):
            conn.info[_HOLDS] = queue
        cursor.execute("BEGIN IMMEDIATE")

    def end(conn: Connection) -> None:
        conn.info[_PENDING] = False
        held = conn.info.pop(_HOLDS, None)
        if held is not None:
            held.release()

    def end_record(record: Any) -> None:
        # a connection reset, invalidated or closed without the commit/rollback events
        held = record.info.pop(_HOLDS, None)
        if held is not None:
            held.release()

    event.listen(engine, "begin", begin)
    event.listen(engine, "before_cursor_execute", before_execute)
    event.listen(engine, "commit", end)
    event.listen(engine, "rollback", end)
    event.listen(engine.pool, "reset", lambda _dbapi, record, _state: end_record(record))
    event.listen(engine.pool, "invalidate", lambda _dbapi, record, _exc: end_record(record))
    event.listen(engine.pool, "close", lambda _dbapi, record: end_record(record))


def make_engine(settings: Settings) -> Engine:
    url = settings.database_url
    kwargs: dict[str, Any] = {"echo": settings.echo_sql, "future": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": BUSY_TIMEOUT_S}
    else:
        kwargs["pool_pre_ping"] = True
        # Ten kept connections, five more when busy: the same cap of fifteen per process as
        # SQLAlchemy's default (5 + 10), but a server answering 6-10 requests at once no longer
        # opens and closes a connection per request beyond the fifth: on PostgreSQL each is a
        # new backend process (its start cost more CPU than the failure list itself; decision 62).
        kwargs["pool_size"], kwargs["max_overflow"] = 10, 5
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        _sqlite_writes_wait(engine)
    else:
        event.listen(engine, "connect", _postgres_session)
    return engine


def make_sessionmaker(engine: Engine, *, semantic: bool = False) -> sessionmaker[Session]:
    # expire_on_commit=False: objects stay readable after the unit of work ends, so the CLI
    # and API can render what they just wrote without another query.
    factory = sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)
    # History and the search index are written by flush hooks, so no write path can skip them.
    event.listen(factory, "after_flush", record_flush)
    event.listen(factory, "after_flush", index_flush)
    # The layers above add theirs (coach scores, embeddings): see lessonloop.bootstrap.
    install_session_hooks(factory, frozenset({"semantic"} if semantic else ()))
    return factory


@dataclass
class Database:
    """An engine and its session factory, built from settings by whoever needs them."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    _version: DataVersion | None = None

    @classmethod
    def open(cls, settings: Settings, *, migrate: bool = True) -> Database:
        from lessonloop.store.migrate import check_not_newer, ensure_schema

        require_wired()  # the mappers are complete and the hooks registered (lessonloop.bootstrap)
        engine = make_engine(settings)
        try:
            # A schema written by a newer lessonloop is refused before anything reads or writes
            # it (migrate.SchemaTooNew), with or without migrating.
            if migrate:
                ensure_schema(engine)
            else:
                check_not_newer(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(
            settings=settings, engine=engine, sessions=make_sessionmaker(engine, semantic=settings.semantic)
        )

    def unit(self, actor: str | None = None) -> AbstractContextManager[Session]:
        return unit_of_work(self.sessions, actor)

    def data_version(self) -> Hashable | None:
        """A token that changes whenever anything is committed (see :mod:`lessonloop.store.version`);
        ``None`` when it cannot be known. Its watcher connection is opened on first use."""
        if self._version is None:
            self._version = DataVersion(self.engine)
        return self._version.current()

    def close(self) -> None:
        if self._version is not None:
            self._version.close()
        self.engine.dispose()


@contextmanager
def unit_of_work(factory: sessionmaker[Session], actor: str | None = None) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any exception.

    ``actor`` is recorded in the history log for every change made in this unit.
    """
    session = factory()
    session.info["actor"] = actor or "system"
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
