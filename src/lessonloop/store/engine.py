"""Engines, sessions and the unit of work.

Nothing here runs at import time: callers build an engine from a :class:`Settings`. The caller
of a service owns the transaction: :func:`unit_of_work` commits once at the end, or rolls
everything back, so a failure in the middle leaves nothing half-written.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from lessonloop.settings import Settings
from lessonloop.store.history import record_flush
from lessonloop.store.search import index_flush
from lessonloop.store.version import DataVersion


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets the web server read while the worker or CLI writes; busy_timeout waits for a
    # writer instead of failing at once; foreign keys are off by default in SQLite.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def make_engine(settings: Settings) -> Engine:
    url = settings.database_url
    kwargs: dict[str, Any] = {"echo": settings.echo_sql, "future": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def make_sessionmaker(engine: Engine, *, semantic: bool = False) -> sessionmaker[Session]:
    # expire_on_commit=False: objects stay readable after the unit of work ends, so the CLI
    # and API can render what they just wrote without another query.
    factory = sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)
    # History and the search index are written by flush hooks, so no write path can skip them.
    event.listen(factory, "after_flush", record_flush)
    event.listen(factory, "after_flush", index_flush)
    # The coach's scores are stored on reviews and actions for the metrics (signals/annotate.py).
    from lessonloop.signals.annotate import annotate_flush

    event.listen(factory, "before_flush", annotate_flush)
    # Embeddings for the optional semantic ranking (signals/semantic.py), when enabled.
    if semantic:
        from lessonloop.signals.semantic import register_embedding_hook

        register_embedding_hook(factory)
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
        import lessonloop.store.registry  # noqa: F401  (complete the mappers)
        from lessonloop.store.migrate import ensure_schema

        engine = make_engine(settings)
        if migrate:
            ensure_schema(engine)
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
