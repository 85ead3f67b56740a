"""The one bulk write path every import uses.

Per-object ORM flushes cost about a millisecond a record; an import of 100k records must spend
tens of microseconds. So imports hand plain row dicts to :class:`BulkLoader`, which writes them
on the session's connection, inside the caller's transaction, in batches, and keeps the two
things the session hooks would otherwise keep:

* the append-only history: one ``create`` entry per record in the ``history`` table, with the
  actor and the same ``changes`` the :func:`lessonloop.store.history.record_flush` hook writes
  (``actor=None`` writes none: a native restore brings its own history);
* the search index, through :func:`lessonloop.store.search.index_documents`, with each model's
  own ``search_document()`` applied to the row values, so the document text has one definition.

Values are converted by the column types' own bind processors (so the stored form is exactly
what the ORM writes) and sent straight to the driver: ``executemany`` on SQLite, ``COPY ... FROM
STDIN`` on PostgreSQL. Inside :meth:`BulkLoader.pipelined`, the sending runs on one writer
thread while the calling thread reads and prepares the next batch (sqlite3 and libpq release
the GIL while the database works), so parsing and writing overlap on two cores. On PostgreSQL a
:class:`VectorHelper` also has a second connection compute the batches' search vectors (the
English stemmer, the most expensive part of the import for the database) while the loader's own
connection stores the previous batch: the database work is spread over two backends.

Ids are explicit: :meth:`BulkLoader.allocate_ids` takes fresh ones (from the PostgreSQL
sequence, in blocks; on SQLite by moving the table's ``sqlite_sequence`` past them, which also
takes the write lock first), or a restore keeps its own and calls
:meth:`BulkLoader.restore_sequences` so later inserts do not collide.

A long import need not be one transaction: :meth:`BulkLoader.commit` ends the current one
between two records (the public post-mortems import commits in chunks so that other writers get
the SQLite write lock in between), and :meth:`BulkLoader.restart` drops a failed chunk and goes on.
"""

from __future__ import annotations

import datetime as dt
import enum
import gc
import operator
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from types import SimpleNamespace
from typing import Any, TypeVar, cast

from sqlalchemy import Date, DateTime, Table, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

from lessonloop.store.base import Base, UTCDateTime, utcnow
from lessonloop.store.history import HistoryEntry
from lessonloop.store.search import document_vectors, index_documents

BATCH_SIZE = 1000
ID_BLOCK = 10_000  # PostgreSQL ids are fetched this many at a time
#: After a commit between chunks on SQLite, how long the importer leaves the write lock to others
#: before it writes again. A writer in another process (the server) waits in SQLite's busy handler,
#: which looks again at most every 100 ms: a shorter pause could miss it every time.
YIELD_S = 0.12

Row = dict[str, Any]
T = TypeVar("T")


def table_of(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def plain(value: Any) -> Any:
    """A value as the history log stores it (same rules as the flush hook)."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _logged_keys(model: type[Base]) -> list[tuple[str, bool]]:
    """The columns a ``create`` history entry lists, and whether each holds a date or time."""
    exclude = model.__history_exclude__
    table = table_of(model)
    return [
        (a.key, isinstance(table.c[a.key].type, UTCDateTime | Date | DateTime))
        for a in model.__mapper__.column_attrs
        if a.key != "id" and a.key not in exclude
    ]


def create_changes(
    keys: Sequence[tuple[str, bool]], row: Mapping[str, Any], iso: dict[Any, str] | None = None
) -> dict[str, Any]:
    """The ``changes`` of a ``create`` entry, as the flush hook writes them: set columns, old = None.

    ``iso`` caches the text of repeated times."""
    iso = {} if iso is None else iso
    out: dict[str, Any] = {}
    for key, temporal in keys:
        value = row.get(key)
        if value is None:
            continue
        if temporal:
            text_ = iso.get(value)
            if text_ is None:
                text_ = iso[value] = value.isoformat()
            out[key] = [None, text_]
        else:  # row values are plain (str, numbers): only times need what plain() does
            out[key] = [None, value]
    return out


def _cached(processor: Callable[[Any], Any]) -> Callable[[Any], Any]:
    cache: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        try:
            return cache[value]
        except KeyError:
            cache[value] = out = processor(value)
            return out

    return convert


@contextmanager
def _wrap_driver_errors(conn: Connection, statement: str) -> Iterator[None]:
    """Raise driver errors from raw ``COPY`` as SQLAlchemy's (IntegrityError, ...), like
    every other statement does."""
    dbapi_error = conn.dialect.loaded_dbapi.Error
    try:
        yield
    except dbapi_error as exc:
        raise DBAPIError.instance(statement, None, exc, dbapi_error) from exc


class _TableWriter:
    """Turns row dicts into driver-ready tuples for one table, and sends them."""

    def __init__(self, conn: Connection, table: Table, *, skip: tuple[str, ...] = ()) -> None:
        dialect = conn.dialect
        self.postgres = dialect.name == "postgresql"
        self.columns = [c.name for c in table.columns if not c.computed and c.name not in skip]
        # A key missing from a row takes the column's plain default (e.g. a column added later).
        self.defaults = {
            c.name: c.default.arg  # type: ignore[attr-defined]
            for c in table.columns
            if c.default is not None and c.default.is_scalar
        }
        self.convert: list[tuple[int, Callable[[Any], Any]]] = []
        for index, name in enumerate(self.columns):
            ctype = table.c[name].type
            processor: Callable[[Any], Any] | None = ctype.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                repeated = isinstance(ctype, UTCDateTime | Date | DateTime)
                self.convert.append((index, _cached(processor) if repeated else processor))
        names = ", ".join(f'"{n}"' for n in self.columns)
        if self.postgres:
            self.sql = f'COPY "{table.name}" ({names}) FROM STDIN'
        else:
            self.sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join("?" * len(self.columns))})'

    def prepare(self, rows: Iterable[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        columns, defaults, convert = self.columns, self.defaults, self.convert
        pick = operator.itemgetter(*columns)
        single = len(columns) == 1
        out = []
        for row in rows:
            try:
                values = [pick(row)] if single else list(pick(row))
            except KeyError:
                values = [row[n] if n in row else defaults.get(n) for n in columns]
            for i, conv in convert:
                if values[i] is not None:
                    values[i] = conv(values[i])
            out.append(tuple(values))
        return out

    def send(self, conn: Connection, values: list[tuple[Any, ...]]) -> None:
        if not values:
            return
        if self.postgres:
            dbapi: Any = conn.connection.dbapi_connection  # psycopg: COPY is not in the DB-API
            with _wrap_driver_errors(conn, self.sql), dbapi.cursor() as cursor, cursor.copy(self.sql) as copy:
                for value in values:
                    copy.write_row(value)
        else:
            conn.exec_driver_sql(self.sql, values)


class _Worker:
    """Runs jobs in order on one thread. Only the worker touches the connection while it runs.

    After a job fails (or the submitter gives up), the remaining jobs are skipped; a caller
    waiting for a result gets the error instead."""

    def __init__(self) -> None:
        self.jobs: queue.Queue[tuple[Callable[[], Any], Future[Any] | None] | None] = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="lessonloop-bulk-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (item := self.jobs.get()) is not None:
            job, future = item
            if self.error is not None:
                if future is not None:
                    future.set_exception(self.error)
                continue
            try:
                result = job()
            except BaseException as exc:  # handed to the submitting thread
                self.error = exc
                if future is not None:
                    future.set_exception(exc)
            else:
                if future is not None:
                    future.set_result(result)

    def submit(self, job: Callable[[], Any]) -> None:
        if self.error is not None:
            raise self.error
        self.jobs.put((job, None))

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` after the jobs already queued and wait for its result."""
        if self.error is not None:
            raise self.error
        future: Future[T] = Future()
        self.jobs.put((fn, future))
        return future.result()

    def close(self, *, cancel: bool = False) -> BaseException | None:
        if cancel and self.error is None:
            self.error = RuntimeError("bulk write cancelled")
        self.jobs.put(None)
        self.thread.join()
        return self.error


#: The youngest-generation threshold of the garbage collector while a bulk write runs: an import
#: allocates millions of short-lived, acyclic containers (rows, tuples, dicts), and with the
#: default (700) the collector ran thousands of times: 2.3 of the 7.9 CPU-seconds of a
#: 100k-failure import (docs/performance.md). Counted, so overlapping imports restore it once.
GC_THRESHOLD = 50_000
_gc_lock = threading.Lock()
_gc_users = 0
_gc_saved: tuple[int, int, int] | None = None


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Raise the garbage collector's first threshold for the block (process-wide, restored by the
    last block to leave). Reference counting still frees every row as soon as it is written;
    only the search for reference cycles runs less often."""
    global _gc_users, _gc_saved
    with _gc_lock:
        if _gc_users == 0:
            _gc_saved = gc.get_threshold()
            gc.set_threshold(max(GC_THRESHOLD, _gc_saved[0]), *_gc_saved[1:])
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0 and _gc_saved is not None:
                gc.set_threshold(*_gc_saved)
                _gc_saved = None


class VectorHelper:
    """A second PostgreSQL connection that computes search vectors for the batches to come.

    Computing a vector reads and writes nothing (:func:`~lessonloop.store.search.document_vectors`),
    so it needs no part of the import's transaction: the answers are the same on any connection,
    and the import stays one transaction on the loader's own connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn.engine.connect()
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lessonloop-bulk-vectors")

    @classmethod
    def open(cls, conn: Connection) -> VectorHelper | None:
        """A helper, or ``None`` when no second connection can be had (the loader's own
        connection then computes the vectors, a little slower)."""
        try:
            return cls(conn)
        except SQLAlchemyError:
            return None

    def submit(self, docs: list[tuple[str, int, str, str]]) -> Future[list[str]]:
        return self.pool.submit(document_vectors, self.conn, docs)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.conn.close()


class BulkLoader:
    """Batched inserts on the session's connection; the caller commits or rolls back."""

    def __init__(self, session: Session, *, actor: str | None, batch_size: int = BATCH_SIZE) -> None:
        self.session = session
        self.conn: Connection = session.connection()
        self.actor = actor
        self.batch_size = batch_size
        self.now = utcnow()
        self.counts: Counter[str] = Counter()
        self._writers: dict[tuple[str, tuple[str, ...]], _TableWriter] = {}
        self._free_ids: dict[str, list[int]] = {}
        self._worker: _Worker | None = None
        self._resume_at = 0.0  # monotonic time before which no write starts (see commit)
        self._vectors: VectorHelper | None = None
        self._iso: dict[Any, str] = {}

    @property
    def is_postgres(self) -> bool:
        return self.conn.dialect.name == "postgresql"

    @contextmanager
    def pipelined(self) -> Iterator[None]:
        """Within the block, writes are sent by a writer thread, in order, while the caller goes
        on preparing; leaving the block waits for every write and raises the first write error.
        On an error in the block, writing stops before the error reaches the caller (who then
        rolls back)."""
        self._worker = _Worker()
        vectors = self._vectors = VectorHelper.open(self.conn) if self.is_postgres else None
        try:
            with fewer_collections():
                yield
        except BaseException:
            worker, self._worker = self._worker, None
            assert worker is not None  # restart() replaces it, nothing else clears it
            worker.close(cancel=True)  # skip what is queued: the caller rolls back anyway
            raise
        else:
            worker, self._worker = self._worker, None
            assert worker is not None
            error = worker.close()
            if error is not None:
                raise error
        finally:
            self._vectors = None
            if vectors is not None:
                vectors.close()

    def _io(self, job: Callable[[], None]) -> None:
        if self._worker is None:
            job()
        else:
            self._worker.submit(job)

    def _query(self, fn: Callable[[], T]) -> T:
        return fn() if self._worker is None else self._worker.call(fn)

    def allocate_ids(self, model: type[Base], n: int) -> list[int]:
        """``n`` fresh primary keys for ``model`` (no row is written)."""
        table = table_of(model)
        if n <= 0:
            return []
        if not self.is_postgres:
            last = self._query(partial(self._reserve_sqlite, table, n))
            return list(range(last - n + 1, last + 1))
        free = self._free_ids.setdefault(table.name, [])
        if len(free) < n:
            block = max(n - len(free), ID_BLOCK)
            seq = text(
                "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"
            ).bindparams(table=table.name, n=block)
            free.extend(sorted(int(v) for v in self._query(lambda: list(self.conn.scalars(seq)))))
        taken, self._free_ids[table.name] = free[:n], free[n:]
        return taken

    def _reserve_sqlite(self, table: Table, n: int) -> int:
        """Move ``table``'s AUTOINCREMENT counter ``n`` past both its value and ``max(id)``; the
        last id reserved. Being a write, it opens the transaction with ``BEGIN IMMEDIATE``
        (store.engine), so no other writer can take these ids before this transaction ends; and an
        id once given out and deleted is not given again (decision 26), which ``max(id)`` alone
        would do."""
        self._wait_turn()
        params = {"name": table.name, "n": n}
        self.conn.execute(
            text(
                "INSERT INTO sqlite_sequence (name, seq) SELECT :name, 0 "
                "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = :name)"
            ),
            params,
        )
        last = self.conn.scalar(
            text(
                f'UPDATE sqlite_sequence SET seq = max(seq, (SELECT coalesce(max(id), 0) FROM "{table.name}")) '
                "+ :n WHERE name = :name RETURNING seq"
            ),
            params,
        )
        return int(last)

    def _wait_turn(self) -> None:
        delay = self._resume_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def commit(self) -> None:
        """Commit what was written so far (after every queued write); the next write begins a new
        transaction. Call it between records only: a record's rows, history and search document
        must land in one transaction. On SQLite the next write waits :data:`YIELD_S` so writers
        queued behind this one (in this process or another) go first."""
        self._query(lambda: None)  # the writer thread is idle and every write has succeeded
        self.session.commit()
        self.conn = self.session.connection()
        if not self.is_postgres:
            self._resume_at = time.monotonic() + YIELD_S

    def restart(self) -> None:
        """Roll back the transaction in progress (a failed chunk) and start writing afresh; what
        :meth:`commit` committed stays. Within :meth:`pipelined`, the failed writer is replaced."""
        worker = self._worker
        if worker is not None:
            worker.close(cancel=True)
            self._worker = _Worker()
        self.session.rollback()
        self.conn = self.session.connection()

    def add(
        self,
        model: type[Base],
        rows: Sequence[Row],
        *,
        extras: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        """Insert records of ``model``, with their history and search documents.

        ``extras[i]`` adds attributes that row ``i``'s search document reads but that are not
        columns (a failure's ``labels``)."""
        table = table_of(model)
        record_type = str(getattr(model, "__record_type__", table.name))
        kind = getattr(model, "__search_kind__", None)
        log = self.actor is not None and not getattr(model, "__history_skip__", False)
        keys = _logged_keys(model)
        document = getattr(model, "search_document", None)
        for start in range(0, len(rows), self.batch_size):
            chunk = rows[start : start + self.batch_size]
            writes = [(self._writer(table), self._writer(table).prepare(chunk))]
            if log:
                history = self._writer(table_of(HistoryEntry), skip=("id",))
                entries = [
                    {
                        "record_type": record_type,
                        "record_id": row["id"],
                        "action": "create",
                        "actor": self.actor,
                        "at": self.now,
                        "changes": create_changes(keys, row, self._iso),
                    }
                    for row in chunk
                ]
                writes.append((history, history.prepare(entries)))
            docs: list[tuple[str, int, str, str]] = []
            if kind is not None and document is not None:
                for offset, row in enumerate(chunk):
                    more = extras[start + offset] if extras is not None else {}
                    title, body = document(SimpleNamespace(**row, **more))
                    docs.append((kind, row["id"], title, body))
            vectors = self._vectors.submit(docs) if self._vectors is not None and docs else None
            self._io(partial(self._send, writes, docs, vectors))
        self.counts[record_type] += len(rows)

    def link(self, table: Table, rows: Sequence[Row]) -> None:
        """Insert rows of an association table (labels, reviewers, audiences...)."""
        writer = self._writer(table)
        for start in range(0, len(rows), self.batch_size):
            values = writer.prepare(rows[start : start + self.batch_size])
            self._io(partial(writer.send, self.conn, values))

    def _send(
        self,
        writes: list[tuple[_TableWriter, list[tuple[Any, ...]]]],
        docs: list[Any],
        vectors: Future[list[str]] | None = None,
    ) -> None:
        for writer, values in writes:
            writer.send(self.conn, values)
        with _wrap_driver_errors(self.conn, "COPY search_documents"):
            index_documents(self.conn, docs, new=True, vectors=None if vectors is None else vectors.result())

    def _writer(self, table: Table, skip: tuple[str, ...] = ()) -> _TableWriter:
        key = (table.name, skip)
        if key not in self._writers:
            self._writers[key] = _TableWriter(self.conn, table, skip=skip)
        return self._writers[key]

    def restore_sequences(self, tables: Sequence[Table]) -> None:
        """After explicit ids on PostgreSQL, move each id sequence past the largest id."""
        if not self.is_postgres:
            return
        for table in tables:
            if "id" in table.c:
                stmt = text(
                    f"SELECT setval(pg_get_serial_sequence(:table, 'id'), "
                    f'COALESCE((SELECT MAX(id) FROM "{table.name}"), 0) + 1, false)'
                ).bindparams(table=table.name)
                self._query(partial(self.conn.execute, stmt))
