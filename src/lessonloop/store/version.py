"""A token that changes whenever anything is committed to the database, by any process.

What the API's response cache (:mod:`lessonloop.api.cache`) keys on: an answer computed while the
token was ``v`` is still the answer as long as the token is still ``v``. No table, no trigger and
no write of its own; the database already knows:

* **SQLite** — ``PRAGMA data_version`` on a connection of our own that never writes: SQLite
  changes it whenever *another* connection commits to the file, which is every writer (the
  server's pooled connections, the CLI, the worker, another server process).
* **PostgreSQL** — ``pg_current_snapshot()``: two equal snapshots mean no transaction that wrote
  anything committed in between (one that got its id before the first is in the first's
  in-progress list and not in the second's; one that got it after moves ``xmax``). Read-only
  transactions take no id, so a read-mostly server keeps the same token. Ids are per cluster, so
  writes to *other* databases of the server change it too: a missed cache entry, never a stale
  one.

Read the token **before** reading the data it stands for: a commit in between then changes the
token seen by the next request (which misses), and never leaves an entry that is older than its
key. :meth:`DataVersion.current` returns ``None`` when it cannot tell (an in-memory SQLite
database has no second connection; the watcher connection failed): callers then must not cache.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Hashable
from typing import Any

from sqlalchemy import Engine

log = logging.getLogger(__name__)


class DataVersion:
    """The current data version of one database (see the module docstring); thread-safe."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._conn: Any = None
        self._dialect = engine.dialect.name
        database = engine.url.database or ""
        self._enabled = self._dialect == "postgresql" or (
            self._dialect == "sqlite"
            and database not in ("", ":memory:")
            and "mode=memory" not in database
            and engine.url.query.get("mode") != "memory"
        )

    @property
    def enabled(self) -> bool:
        return self._enabled

    def current(self) -> Hashable | None:
        """The token now, or ``None`` when it cannot be known (do not cache then)."""
        if not self._enabled:
            return None
        with self._lock:
            try:
                if self._conn is None:
                    self._conn = self._connect()
                row = self._conn.execute(self._query()).fetchone()
                return (self._dialect, row[0])
            except Exception:  # the database is down or the file moved: no caching, retry later
                log.warning("could not read the data version", exc_info=True)
                self._drop()
                return None

    def _query(self) -> str:
        return "PRAGMA data_version" if self._dialect == "sqlite" else "SELECT pg_current_snapshot()::text"

    def _connect(self) -> Any:
        url = self._engine.url
        if self._dialect == "sqlite":
            database = url.database or ""
            uri = database.startswith("file:")
            # Autocommit (isolation_level=None): the pragma is read outside any transaction, so
            # it always reflects the latest commit.
            return sqlite3.connect(database, uri=uri, check_same_thread=False, isolation_level=None)
        import psycopg

        conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        return psycopg.connect(conninfo, autocommit=True)

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):  # closing a broken connection
                self._conn.close()
        self._conn = None

    def close(self) -> None:
        with self._lock:
            self._drop()
