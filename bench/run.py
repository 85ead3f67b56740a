"""lessonloop benchmark: import, search, API list, size and memory at 10k / 100k failures.

    .venv/bin/python bench/run.py                                   # 10k and 100k, SQLite and PostgreSQL
    .venv/bin/python bench/run.py --sizes 10000 --backends sqlite --seconds 5

For every backend and size, on a fresh database:

1. **import**: ``lessonloop import FILE --format public-postmortems`` as a subprocess on a
   synthetic file from ``bench/generate.py`` (schema migrated beforehand, so the figure is the
   importer's); records/s by wall clock and by the importer's own CPU time;
2. **workspace**: teams, people, reviews, assumptions, actions and lessons for a fraction of
   the failures (:func:`generate.enrich`), then ``VACUUM ANALYZE`` on PostgreSQL (what autovacuum
   does shortly after a bulk load) and a WAL checkpoint on SQLite;
3. **search**: ~200 realistic queries through ``lessonloop.search.search`` as an ordinary member
   (exact: every match ranked, access filtered in the statement) and, interleaved, *the same SQL
   statements with the same parameters* (captured from the first call) run on a raw DBAPI
   connection (the limit), plus the same search as a system job and a rank-only FTS query
   without access filter or text, for reference;
4. **API**: ``lessonloop serve`` in a subprocess on a free 127.0.0.1 port, ``GET
   /api/v1/failures?page=P&page_size=50`` driven by ``bench/load.py`` (1 connection for latency,
   then N connections for throughput), against a bare FastAPI endpoint served the same way
   (``bench/bare_app.py``) in the same run; server RSS from ``/proc/<pid>/status``;
5. **size** on disk (SQLite file + WAL; ``pg_database_size``).

PostgreSQL runs in a database ``lessonloop_bench_<pid>_<size>`` created on the server of
``--pg-url`` and dropped at the end (also on Ctrl+C). Results print as a table; ``--json``
(default ``bench/out/results-<time>.json``) keeps them. Nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import random
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402
from load import percentile  # noqa: E402

DEFAULT_PG_URL = os.environ.get(
    "LESSONLOOP_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
CLI = [sys.executable, "-c", "from lessonloop.cli.main import main; main()"]
TARGETS = {
    "import_rps": 5000.0,
    "search_p95_ms": 20.0,
    "search_ratio": 2.0,
    "api_vs_bare": 0.5,
    "api_uncached_vs_bare": 0.25,  # issue #13: without the answer cache
}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def loadavg() -> float:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except OSError:
        return float("nan")


# ------------------------------------------------------------------------------------------------
# Backends
# ------------------------------------------------------------------------------------------------


@dataclass
class Target:
    """One fresh database for one (backend, size)."""

    backend: str
    url: str
    sqlite_path: Path | None = None
    pg_admin_url: str | None = None
    pg_name: str | None = None

    def size_bytes(self) -> int:
        if self.sqlite_path is not None:
            return sum(
                p.stat().st_size
                for p in (self.sqlite_path, Path(f"{self.sqlite_path}-wal"), Path(f"{self.sqlite_path}-shm"))
                if p.exists()
            )
        import psycopg

        with psycopg.connect(_conninfo(self.url)) as conn:
            row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
            assert row is not None
            return int(row[0])

    def size_breakdown(self) -> dict[str, int]:
        if self.sqlite_path is not None:
            return {}
        import psycopg

        with psycopg.connect(_conninfo(self.url)) as conn:
            rows = conn.execute(
                "SELECT relname, pg_total_relation_size(c.oid) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 2 DESC LIMIT 6"
            ).fetchall()
        return {str(r[0]): int(r[1]) for r in rows}


def _conninfo(sqlalchemy_url: str) -> str:
    """A libpq URL from a SQLAlchemy one (drop the ``+psycopg`` driver suffix)."""
    _scheme, rest = sqlalchemy_url.split("://", 1)
    return "postgresql://" + rest


@contextlib.contextmanager
def fresh_target(
    backend: str,
    workdir: Path,
    pg_admin_url: str,
    size: int,
    keep_sqlite: bool = False,
    keep_pg: bool = False,
) -> Iterator[Target]:
    if backend == "sqlite":
        path = workdir / f"bench-{size}.db"
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            p.unlink(missing_ok=True)
        try:
            yield Target("sqlite", f"sqlite:///{path}", sqlite_path=path)
        finally:
            if keep_sqlite:
                log(f"kept {path}")
            else:
                for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                    p.unlink(missing_ok=True)
        return
    if backend != "postgres":
        raise SystemExit(f"unknown backend {backend!r} (sqlite, postgres)")
    import psycopg

    name = f"lessonloop_bench_{os.getpid()}_{size}"
    admin = _conninfo(pg_admin_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = pg_admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield Target("postgres", url, pg_admin_url=pg_admin_url, pg_name=name)
    finally:
        if keep_pg:
            log(f'kept {url} (drop it yourself: DROP DATABASE "{name}")')
        else:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            log(f"dropped database {name}")


# ------------------------------------------------------------------------------------------------
# Import and workspace
# ------------------------------------------------------------------------------------------------


def children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


class PgBackendCpu:
    """CPU seconds spent by the PostgreSQL backends serving the bench database while it runs.

    A thread polls ``pg_stat_activity`` for the database's backend pids every 0.2 s and reads
    their utime+stime from /proc (the server is on this machine); a backend's CPU is counted from
    the first to the last time it is seen, so a short-lived one may be under-counted a little.
    """

    def __init__(self, target: Target) -> None:
        import threading

        self.target = target
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(_conninfo(self.target.pg_admin_url or self.target.url), autocommit=True) as conn:
            while not self._stop.is_set():
                rows = conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.target.pg_name,)
                ).fetchall()
                for (pid,) in rows:
                    cpu = proc_cpu(int(pid))
                    if cpu == cpu:  # not NaN: the process is still there
                        self.first.setdefault(int(pid), cpu)
                        self.last[int(pid)] = cpu
                self._stop.wait(0.2)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return sum(self.last[p] - self.first[p] for p in self.last)


def bench_import(target: Target, path: Path, n: int) -> dict[str, Any]:
    import lessonloop.bootstrap  # noqa: F401  (wires storage before it is opened)
    from lessonloop.settings import Settings
    from lessonloop.store.engine import Database

    Database.open(Settings(database_url=target.url)).close()  # migrate first: not part of the rate
    sampler = PgBackendCpu(target) if target.backend == "postgres" else None
    cpu0, la0, t0 = children_cpu(), loadavg(), time.perf_counter()
    proc = subprocess.run(
        [
            *CLI,
            "--database-url",
            target.url,
            "--as",
            "bench",
            "import",
            str(path),
            "--format",
            "public-postmortems",
            "--json",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    wall, cpu = time.perf_counter() - t0, children_cpu() - cpu0
    db_cpu = sampler.stop() if sampler is not None else None
    if proc.returncode != 0:
        raise RuntimeError(f"import failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    created = int(json.loads(proc.stdout)["created"])
    if created != n:
        raise RuntimeError(f"import created {created} failures, expected {n}")
    return {
        "records": created,
        "seconds": round(wall, 2),
        "cpu_seconds": round(cpu, 2),
        "records_per_s": round(created / wall),
        "records_per_cpu_s": round(created / cpu) if cpu else None,
        "postgres_backend_cpu_seconds": round(db_cpu, 2) if db_cpu is not None else None,
        "loadavg_before": la0,
    }


def build_workspace(
    target: Target, seed: int, review_fraction: float, lesson_fraction: float
) -> dict[str, Any]:
    from sqlalchemy import text

    import lessonloop.bootstrap  # noqa: F401  (wires storage before it is opened)
    from lessonloop.access.actor import SystemActor
    from lessonloop.escalations.service import check_escalations
    from lessonloop.search.service import keep_search_lists
    from lessonloop.settings import Settings
    from lessonloop.store.engine import Database

    db = Database.open(Settings(database_url=target.url), migrate=False)
    try:
        t0 = time.perf_counter()
        counts = generate.enrich(
            db, seed=seed, review_fraction=review_fraction, lesson_fraction=lesson_fraction
        )
        took = time.perf_counter() - t0
        # The worker's daily escalations job, once, as a team that has run lessonloop for a while
        # would have it: the insights page lists the escalations it opened (before this the bench
        # had none, so its insights page was timed without its longest section).
        te = time.perf_counter()
        with db.unit(actor="bench") as session:
            escalations = len(check_escalations(session, viewer=SystemActor("escalations")))
        escalation_seconds = time.perf_counter() - te
        # The worker's search-lists job, once (decision 72): after an import it builds the postings
        tl = time.perf_counter()
        with db.unit(actor="bench") as session:
            lists = keep_search_lists(session, viewer=SystemActor("search-lists"))
        lists_seconds = time.perf_counter() - tl
        t1 = time.perf_counter()
        if target.backend == "postgres":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        else:
            with db.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        maint = time.perf_counter() - t1
        with db.engine.connect() as conn:
            docs = conn.execute(
                text(
                    "SELECT count(*) FROM "
                    + ("search_fts" if target.backend == "sqlite" else "search_documents")
                )
            ).scalar_one()
    finally:
        db.close()
    return {
        **counts,
        "escalations": escalations,
        "escalation_seconds": round(escalation_seconds, 1),
        "search_lists": {
            "terms": lists.terms,
            "postings": lists.postings,
            "seconds": round(lists_seconds, 1),
        },
        "search_documents": int(docs),
        "seconds": round(took, 1),
        "maintenance_seconds": round(maint, 1),
    }


def ready_existing(target: Target) -> dict[str, Any]:
    """A kept bench database made current: migrated to head, then the worker's search-lists job
    once (it builds the postings when there are none or many documents were written since)."""
    from sqlalchemy import func, select

    import lessonloop.bootstrap  # noqa: F401  (wires storage before it is opened)
    from lessonloop.access.actor import SystemActor
    from lessonloop.failures.models import Failure
    from lessonloop.search.service import keep_search_lists
    from lessonloop.settings import Settings
    from lessonloop.store.engine import Database

    db = Database.open(Settings(database_url=target.url), migrate=True)
    try:
        t = time.perf_counter()
        with db.unit(actor="bench") as session:
            lists = keep_search_lists(session, viewer=SystemActor("search-lists"))
            size = int(session.scalar(select(func.count()).select_from(Failure)) or 0)
        took = time.perf_counter() - t
    finally:
        db.close()
    return {
        "size": size,
        "search_lists": {"terms": lists.terms, "postings": lists.postings, "seconds": round(took, 1)},
    }


# ------------------------------------------------------------------------------------------------
# Search
# ------------------------------------------------------------------------------------------------


def _stats(ms: list[float]) -> dict[str, float]:
    s = sorted(ms)
    return {
        "p50_ms": round(percentile(s, 50), 2),
        "p95_ms": round(percentile(s, 95), 2),
        "p99_ms": round(percentile(s, 99), 2),
        "max_ms": round(s[-1], 2),
        "mean_ms": round(statistics.fmean(s), 2),
    }


def _search_viewer(session: Any) -> Any:
    """The person the search is timed as: ``user0100``, an ordinary member (as the API phase)."""
    from sqlalchemy import select

    from lessonloop.access.viewer import viewer_for
    from lessonloop.people.models import Person

    person = session.scalar(select(Person).where(Person.handle == "user0100"))
    if person is None:
        raise RuntimeError("the workspace has no user0100 (run the workspace phase)")
    return viewer_for(session, person)


def bench_search(target: Target, queries: list[str], reps: int) -> dict[str, Any]:
    """Exact search (decision 44) as an ordinary member through ``lessonloop.search.search``
    (the /search page's and the API's path, access filtered in the statement), interleaved
    query by query with *the same SQL statements* (captured from that call) on a raw DBAPI
    connection: the limit, so the ratio is the Python layer's overhead. Also timed: the same
    search as a system job (no access filter) and a rank-only query (match + rank + limit, no
    access filter, no text) for reference."""
    from sqlalchemy import event

    import lessonloop.bootstrap  # noqa: F401  (wires storage before it is opened)
    from lessonloop.access.actor import SystemActor
    from lessonloop.search.service import search
    from lessonloop.settings import Settings
    from lessonloop.store import postings_base
    from lessonloop.store import search as store_search
    from lessonloop.store.engine import Database

    db = Database.open(Settings(database_url=target.url), migrate=False)
    sqlite = target.backend == "sqlite"
    captured: list[tuple[str, Any]] = []
    system = SystemActor("bench")

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        captured.append((statement, parameters))

    # 1. The exact statements and parameters search() sends, per query: one ranking (two when
    #    the first read held too few documents the person may see); on PostgreSQL first the
    #    postings' (decision 72), which settle the page or hand it to the ranking.
    statements: list[list[tuple[str, Any]]] = []
    settled = 0
    session = db.sessions()
    try:
        viewer = _search_viewer(session)
        search(session, "warm up", viewer=viewer)  # the person's access clause is built once
        event.listen(db.engine, "before_cursor_execute", capture)
        for q in queries:
            captured.clear()
            search(session, q, viewer=viewer)
            stmt = [c for c in captured if "search_" in c[0] or "to_tsquery" in c[0]]
            if not 1 <= len(stmt) <= 2 + 3 + 1 + postings_base.ROUNDS:
                raise RuntimeError(f"unexpected number of search statements for {q!r}: {len(stmt)}")
            if any("search_list_builds" in c[0] for c in stmt) and not any(
                "ORDER BY score DESC, doc LIMIT" in c[0] for c in stmt
            ):
                settled += 1
            statements.append(stmt)
        event.remove(db.engine, "before_cursor_execute", capture)

        # 2. A raw DBAPI connection for the direct queries.
        if sqlite:
            assert target.sqlite_path is not None
            raw: Any = sqlite3.connect(str(target.sqlite_path))
            minimal = (
                "SELECT rowid FROM search_fts WHERE search_fts MATCH ? "
                "ORDER BY bm25(search_fts, 0.0, 0.0, 4.0, 1.0) LIMIT 20"
            )
            count_sql = "SELECT count(*) FROM search_fts WHERE search_fts MATCH ?"

            def run_raw(sql: str, params: Any) -> list[Any]:
                return raw.execute(sql, params).fetchall()

            def fts(q: str) -> str:
                return store_search.fts5_query(q)
        else:
            import psycopg

            raw = psycopg.connect(_conninfo(target.url), autocommit=True)
            minimal = (
                "SELECT doc_id FROM search_documents, to_tsquery('english', %s) q WHERE tsv @@ q "
                "ORDER BY ts_rank(tsv, q, 1) DESC, doc_id LIMIT 20"
            )
            count_sql = "SELECT count(*) FROM search_documents WHERE tsv @@ to_tsquery('english', %s)"

            def run_raw(sql: str, params: Any) -> list[Any]:
                return raw.execute(sql, params).fetchall()

            def fts(q: str) -> str:
                return " & ".join(store_search.terms(q))

        def run_all(stmts: list[tuple[str, Any]]) -> list[Any]:
            rows: list[Any] = []
            for sql, params in stmts:
                rows = run_raw(sql, params)
            return rows

        matches = [int(run_raw(count_sql, (fts(q),))[0][0]) for q in queries]

        # 3. Warm up every path once, then measure, interleaved query by query.
        for q, stmts in zip(queries, statements, strict=True):
            search(session, q, viewer=viewer)
            search(session, q, viewer=system)
            run_all(stmts)
            run_raw(minimal, (fts(q),))
        via, direct, as_system, rank_only, ratios = [], [], [], [], []
        for _ in range(reps):
            for q, stmts in zip(queries, statements, strict=True):
                t0 = time.perf_counter()
                hits = search(session, q, viewer=viewer)
                t1 = time.perf_counter()
                rows = run_all(stmts)
                t2 = time.perf_counter()
                search(session, q, viewer=system)
                t3 = time.perf_counter()
                run_raw(minimal, (fts(q),))
                t4 = time.perf_counter()
                assert len(hits) == len(rows)
                via.append((t1 - t0) * 1000)
                direct.append((t2 - t1) * 1000)
                as_system.append((t3 - t2) * 1000)
                rank_only.append((t4 - t3) * 1000)
                ratios.append((t1 - t0) / (t2 - t1))
        raw.close()
    finally:
        session.close()
        db.close()
    sv, sd = _stats(via), _stats(direct)
    m = sorted(matches)
    return {
        "queries": len(queries),
        "reps": reps,
        "as": "user0100",
        "search": sv,
        "settled_by_lists": settled,
        "direct_same_sql": sd,
        "search_as_system": _stats(as_system),
        "direct_rank_only": _stats(rank_only),
        "ratio_p50": round(sv["p50_ms"] / sd["p50_ms"], 2),
        "ratio_p95": round(sv["p95_ms"] / sd["p95_ms"], 2),
        # the engine's own top 20 of the same queries (no access check, no text): the limit now
        # that the postings do most of a search's work outside SQL (decision 72)
        "ratio_rank_only_p95": round(sv["p95_ms"] / _stats(rank_only)["p95_ms"], 2),
        "ratio_per_query_median": round(statistics.median(ratios), 2),
        "matches": {
            "p50": m[len(m) // 2],
            "p95": int(percentile(m, 95)),
            "max": m[-1],
            "zero": sum(1 for x in m if x == 0),
        },
        "slowest_queries": [
            {"query": q, "ms": round(t, 1), "matches": mt}
            for t, q, mt in sorted(zip(via[: len(queries)], queries, matches, strict=True), reverse=True)[:5]
        ],
    }


# ------------------------------------------------------------------------------------------------
# API
# ------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_get(
    port: int, path: str, timeout: float = 5.0, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM in kB from /proc/<pid>/status."""
    out: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in {"VmRSS", "VmHWM"}:
                out[key] = int(value.split()[0])
    return out


def proc_cpu(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    """A server subprocess (own session, so Ctrl+C here does not hit it first) that can restart.

    Servers run with ``-X faulthandler``: if one crashes, its log holds the Python stacks.
    """

    def __init__(
        self, name: str, argv: list[str], workdir: Path, ready_path: str, env: dict[str, str] | None = None
    ) -> None:
        self.name, self.argv, self.workdir, self.ready_path = name, argv, workdir, ready_path
        self.env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.log_path = workdir / f"{name}.log"
        self.crashes: list[dict[str, Any]] = []

    def start(self) -> None:
        self.port = free_port()
        argv = [a.replace("{port}", str(self.port)) for a in self.argv]
        self.log_path = self.workdir / f"{self.name}-{self.port}.log"
        with self.log_path.open("wb") as out:
            self.proc = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, **SERVER_ENV, **self.env},
            )
        deadline = time.monotonic() + 90
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: {self.log_tail()}")
            with contextlib.suppress(OSError):
                status, _ = http_get(self.port, self.ready_path, timeout=2)
                if status == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not answer {self.ready_path} within 90 s")
            time.sleep(0.2)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(line for line in text if '" 200 OK' not in line)[-6000:] if text else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # uvicorn's graceful stop
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def drive(
    server: Server,
    paths: list[str],
    seconds: float,
    concurrency: int,
    phase: str = "",
    retries: int = 2,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run bench/load.py against the server; adds the server's CPU seconds and load average.

    If the server dies during the phase, the crash is recorded (exit status, the log's last
    lines), the server is restarted and the phase run again, at most ``retries`` times.
    """
    for attempt in range(retries + 1):
        cpu0, la0 = proc_cpu(server.pid), loadavg()
        proc = subprocess.run(
            [
                sys.executable,
                str(HERE / "load.py"),
                "--port",
                str(server.port),
                "--seconds",
                str(seconds),
                "--concurrency",
                str(concurrency),
                *[a for p in paths for a in ("--path", p)],
                *[a for k, v in (headers or {}).items() for a in ("--header", f"{k}: {v}")],
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        )
        time.sleep(0.3)
        if not server.alive():
            assert server.proc is not None
            rc = server.proc.returncode
            crash = {
                "phase": phase,
                "attempt": attempt + 1,
                "returncode": rc,
                "signal": signal.Signals(-rc).name if rc is not None and rc < 0 else None,
                "log_tail": server.log_tail(),
            }
            server.crashes.append(crash)
            log(f"  !! {server.name} died during {phase or 'load'} (returncode {rc}); restarting")
            server.start()
            continue
        if proc.returncode != 0:
            raise RuntimeError(f"load generator failed: {proc.stderr[-2000:]}")
        result = json.loads(proc.stdout)
        cpu = proc_cpu(server.pid) - cpu0
        result["server_cpu_s"] = round(cpu, 2)
        result["server_cpu_util"] = round(cpu / result["seconds"], 2)
        result["rps_per_server_cpu_s"] = round(result["requests"] / cpu, 1) if cpu > 0 else None
        result["loadavg"] = la0
        result["attempts"] = attempt + 1
        return result
    return {
        "failed": f"{server.name} crashed {retries + 1} times in a row",
        "rps": 0.0,
        "p50_ms": None,
        "p95_ms": None,
    }


def list_paths(seed: int, n_failures: int, page_size: int = 50, count: int = 64) -> list[str]:
    """Half page 1 (the default view), half pages 2..20 (people do page a little)."""
    rng = random.Random(seed)
    last = max(1, min(20, -(-n_failures // page_size)))
    return [
        f"/api/v1/failures?page={1 if rng.random() < 0.5 else rng.randint(min(2, last), last)}&page_size={page_size}"
        for _ in range(count)
    ]


def api_token(target: Target) -> str:
    """An API token for an ordinary team member (the workspace's ``user0100``, or a new person):
    the list is what a member sees (org-wide failures and their team's), not an admin's all."""
    from sqlalchemy import select

    import lessonloop.bootstrap  # noqa: F401  (wires storage before it is opened)
    from lessonloop.accounts.service import issue_token
    from lessonloop.people.models import Membership, Person
    from lessonloop.settings import Settings
    from lessonloop.store.engine import Database

    db = Database.open(Settings(database_url=target.url), migrate=False)
    try:
        with db.unit(actor="bench") as session:
            person = session.scalar(select(Person).where(Person.handle == "user0100"))
            if person is None:
                person = Person(handle="bench-reader", name="Bench Reader")
                session.add(person)
                session.flush()
            _token, plaintext = issue_token(session, person, "bench")
            roles = session.scalars(select(Membership.role).where(Membership.person_id == person.id)).all()
            log(f"  API as {person.handle} (roles {list(roles)})")
        return plaintext
    finally:
        db.close()


SERVE_PY = [sys.executable, "-X", "faulthandler"]
SERVER_ENV: dict[str, str] = {}


def use_server_python(python: str) -> None:
    """Run the servers (lessonloop and bare) with another interpreter, e.g. to compare Python
    versions. It needs the dependencies installed; lessonloop is taken from this checkout's src/."""
    SERVE_PY[0] = python
    SERVER_ENV["PYTHONPATH"] = str(HERE.parent / "src")


def bench_api(
    target: Target, n: int, seconds: float, concurrency: int, workdir: Path, seed: int
) -> dict[str, Any]:
    paths = list_paths(seed, n)
    out: dict[str, Any] = {"paths_example": paths[:3], "concurrency": concurrency}
    auth = {"Authorization": f"Bearer {api_token(target)}"}
    argv = [
        *SERVE_PY,
        *CLI[1:],
        "--database-url",
        target.url,
        "serve",
        "--no-worker",  # measure the server alone, without the worker's passes
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
    ]
    with Server("lessonloop", argv, workdir, "/healthz") as srv:
        status, body = http_get(srv.port, "/api/v1/failures?page=1&page_size=50", timeout=30, headers=auth)
        page = json.loads(body) if status == 200 else {}
        if status != 200 or not page.get("total") or len(page.get("items", [])) != min(50, page["total"]):
            raise RuntimeError(f"unexpected list response {status}: {body[:300]!r}")
        out["visible_failures"] = page["total"]
        out["rss_idle_kb"] = proc_status(srv.pid).get("VmRSS")
        drive(srv, paths, min(2.0, seconds / 4), concurrency, "warm-up", headers=auth)
        out["list_latency"] = drive(srv, paths, max(2.0, seconds / 2), 1, "list, 1 connection", headers=auth)
        out["list_load"] = drive(
            srv, paths, seconds, concurrency, f"list, {concurrency} connections", headers=auth
        )
        st = proc_status(srv.pid)
        out["rss_kb"], out["rss_peak_kb"] = st.get("VmRSS"), st.get("VmHWM")
        out["server_crashes"] = srv.crashes
    # The same list with the response cache off (api/cache.py): every request computes its page.
    # The run above repeats ~20 distinct pages and nothing writes meanwhile, so after the warm-up
    # it measures kept answers; this is the cost of a page that was not kept.
    with Server("lessonloop-nocache", argv, workdir, "/healthz", env={"LESSONLOOP_API_CACHE": "0"}) as srv:
        drive(srv, paths, min(2.0, seconds / 4), concurrency, "warm-up, cache off", headers=auth)
        out["list_latency_uncached"] = drive(
            srv, paths, max(2.0, seconds / 2), 1, "list, 1 connection, cache off", headers=auth
        )
        out["list_load_uncached"] = drive(
            srv, paths, seconds, concurrency, f"list, {concurrency} connections, cache off", headers=auth
        )
        out["server_crashes"] += srv.crashes
    argv = [*SERVE_PY, str(HERE / "bare_app.py"), "--host", "127.0.0.1", "--port", "{port}"]
    with Server("bare", argv, workdir, "/healthz") as srv:
        drive(srv, ["/bare"], min(2.0, seconds / 4), concurrency, "warm-up")
        out["bare_latency"] = drive(srv, ["/bare"], max(2.0, seconds / 2), 1, "bare, 1 connection")
        out["bare_load"] = drive(srv, ["/bare"], seconds, concurrency, f"bare, {concurrency} connections")
        out["bare_async_load"] = drive(srv, ["/bare-async"], seconds / 2, concurrency, "bare async")
        out["bare_rss_kb"] = proc_status(srv.pid).get("VmRSS")
        out["bare_crashes"] = srv.crashes
    ll, bare = out["list_load"], out["bare_load"]
    out["rps_ratio"] = round(ll["rps"] / bare["rps"], 3) if bare.get("rps") else None
    uncached = out["list_load_uncached"]
    out["rps_ratio_uncached"] = round(uncached["rps"] / bare["rps"], 3) if bare.get("rps") else None
    if ll.get("rps_per_server_cpu_s") and bare.get("rps_per_server_cpu_s"):
        out["rps_per_cpu_ratio"] = round(ll["rps_per_server_cpu_s"] / bare["rps_per_server_cpu_s"], 3)
    return out


# ------------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with contextlib.suppress(OSError):
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{mem_kb / 1024 / 1024:.1f} GiB"
    import fastapi
    import sqlalchemy
    import uvicorn

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": mem,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": sqlalchemy.__version__,
        "fastapi": fastapi.__version__,
        "uvicorn": uvicorn.__version__,
    }


def pg_version(url: str) -> str:
    import psycopg

    with psycopg.connect(_conninfo(url)) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        assert row is not None
        return str(row[0])


def row_for(r: dict[str, Any]) -> list[str]:
    imp, s, api = r.get("import", {}), r.get("search", {}), r.get("api", {})

    def g(d: dict[str, Any], *keys: str, fmt: str = "{}") -> str:
        for k in keys:
            if not isinstance(d, dict) or k not in d:
                return "-"
            d = d[k]
        return fmt.format(d)

    return [
        r["backend"],
        f"{r['size']:,}",
        g(imp, "records_per_s", fmt="{:,}"),
        g(s, "search", "p50_ms") + " / " + g(s, "search", "p95_ms"),
        g(s, "direct_same_sql", "p50_ms") + " / " + g(s, "direct_same_sql", "p95_ms"),
        g(s, "ratio_p95", fmt="{:.2f}x"),
        g(api, "list_latency", "p50_ms") + " / " + g(api, "list_latency", "p95_ms"),
        g(api, "list_load", "p50_ms") + " / " + g(api, "list_load", "p95_ms"),
        g(api, "list_load", "rps", fmt="{:,.0f}"),
        g(api, "bare_load", "rps", fmt="{:,.0f}"),
        g(api, "rps_ratio", fmt="{:.2f}"),
        g(api, "list_load_uncached", "rps", fmt="{:,.0f}")
        + " / "
        + g(api, "rps_ratio_uncached", fmt="{:.3f}"),
        f"{r.get('db_bytes', 0) / 1e6:,.0f}" if r.get("db_bytes") else "-",
        f"{api['rss_kb'] / 1024:,.0f}" if api.get("rss_kb") else "-",
        str(len(api.get("server_crashes", []))) if api else "-",
    ]


HEADERS = [
    "backend",
    "failures",
    "import rec/s",
    "search p50/p95 ms",
    "direct SQL p50/p95",
    "p95 ratio",
    "list 1-conn p50/p95",
    "list loaded p50/p95",
    "list req/s",
    "bare req/s",
    "list/bare",
    "uncached req/s / ratio",
    "DB MB",
    "RSS MB",
    "crashes",
]


def table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    sep = "-+-".join("-" * w for w in widths)
    body = "\n".join(" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)
    return f"{line}\n{sep}\n{body}"


TARGET_HEADERS = ["backend", "failures", "figure", "measured", "target", "verdict", "limit in the same run"]


def target_rows(r: dict[str, Any]) -> list[list[str]]:
    """One row per target (issue #13): the figure, its target, met or missed, and what it is
    compared with in the same run (the same SQL run directly; the bare endpoint)."""
    rows: list[list[str]] = []
    imp, s, api = r.get("import"), r.get("search"), r.get("api")

    def row(figure: str, measured: str, target: str, ok: bool, limit: str) -> None:
        rows.append(
            [r["backend"], f"{r['size']:,}", figure, measured, target, "met" if ok else "MISSED", limit]
        )

    if imp:
        row(
            "import rec/s",
            f"{imp['records_per_s']:,}",
            ">= 5,000",
            imp["records_per_s"] >= TARGETS["import_rps"],
            "-",
        )
    if s:
        p95, direct = s["search"]["p95_ms"], s["direct_same_sql"]["p95_ms"]
        row(
            f"search p95 ms (exact, as {s.get('as', '?')})",
            f"{p95}",
            "<= 20",
            p95 <= TARGETS["search_p95_ms"],
            f"same SQL direct p95 {direct} ms: ratio {s['ratio_p95']}x; "
            f"{s.get('settled_by_lists', 0)} of {s['queries']} pages settled by the postings",
        )
        limit = s.get("ratio_rank_only_p95", s["ratio_p95"])
        row(
            "search / the engine's own top 20 p95",
            f"{limit}x",
            "<= 2x",
            limit <= TARGETS["search_ratio"],
            f"rank-only p95 {s['direct_rank_only']['p95_ms']} ms; same SQL replayed: {s['ratio_p95']}x",
        )
    if api and api.get("rps_ratio") is not None:
        bare = f"bare {api['bare_load']['rps']:,.0f} req/s"
        row(
            "API list req/s, kept answers",
            f"{api['list_load']['rps']:,.0f}",
            ">= 0.5x bare",
            api["rps_ratio"] >= TARGETS["api_vs_bare"],
            f"{bare}: ratio {api['rps_ratio']}",
        )
        if api.get("rps_ratio_uncached") is not None:
            row(
                "API list req/s, uncached",
                f"{api['list_load_uncached']['rps']:,.0f}",
                ">= 0.25x bare",
                api["rps_ratio_uncached"] >= TARGETS["api_uncached_vs_bare"],
                f"{bare}: ratio {api['rps_ratio_uncached']}",
            )
    return rows


def verdicts(r: dict[str, Any]) -> list[str]:
    out = []
    imp, s, api = r.get("import"), r.get("search"), r.get("api")
    if imp:
        ok = imp["records_per_s"] >= TARGETS["import_rps"]
        out.append(
            f"import {imp['records_per_s']:,} rec/s (target >= 5,000): {'MET' if ok else 'MISSED'}"
            f" [{imp['records_per_cpu_s']:,} rec per importer CPU-second]"
        )
    if s:
        ok = s["search"]["p95_ms"] <= TARGETS["search_p95_ms"]
        out.append(f"search p95 {s['search']['p95_ms']} ms (target <= 20): {'MET' if ok else 'MISSED'}")
        rank_only = s["direct_rank_only"]["p95_ms"]
        limit = s.get("ratio_rank_only_p95", s["ratio_p95"])
        ok = limit <= TARGETS["search_ratio"]
        out.append(
            f"search / the engine's own top 20 p95 ratio {limit}x (target <= 2x): {'MET' if ok else 'MISSED'}"
            f" [rank-only p95 {rank_only} ms; the same SQL replayed: ratio {s['ratio_p95']}x]"
        )
    if api and api.get("rps_ratio") is not None:
        ok = api["rps_ratio"] >= TARGETS["api_vs_bare"]
        extra = f" [per server CPU-second: {api.get('rps_per_cpu_ratio')}]"
        out.append(
            f"API list/bare req/s {api['rps_ratio']} (target >= 0.5): {'MET' if ok else 'MISSED'}{extra}"
            " (repeated pages, kept answers)"
        )
        if api.get("rps_ratio_uncached") is not None:
            ok = api["rps_ratio_uncached"] >= TARGETS["api_uncached_vs_bare"]
            out.append(
                f"API list uncached/bare req/s {api['rps_ratio_uncached']} (target >= 0.25): "
                f"{'MET' if ok else 'MISSED'}"
            )
    if api:
        for crash in api.get("server_crashes", []) + api.get("bare_crashes", []):
            out.append(
                f"SERVER CRASH during {crash['phase']}: returncode {crash['returncode']} ({crash['signal']})"
            )
    return out


# ------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000", help="comma-separated failure counts")
    ap.add_argument("--backends", default="sqlite,postgres", help="sqlite, postgres or both")
    ap.add_argument("--seconds", type=float, default=10.0, help="load duration per API phase (default 10)")
    ap.add_argument("--concurrency", type=int, default=8, help="connections during the API load phase")
    ap.add_argument("--queries", type=int, default=200, help="search queries (default 200)")
    ap.add_argument("--reps", type=int, default=2, help="timed passes over the queries (default 2)")
    ap.add_argument("--seed", type=int, default=generate.DEFAULT_SEED)
    ap.add_argument(
        "--review-fraction", type=float, default=0.10, help="failures given a review (default 0.10)"
    )
    ap.add_argument("--lesson-fraction", type=float, default=0.02, help="lessons per failure (default 0.02)")
    ap.add_argument("--skip", default="", help="phases to skip: workspace,search,api")
    ap.add_argument(
        "--pg-url", default=DEFAULT_PG_URL, help="PostgreSQL server (a bench database is created on it)"
    )
    ap.add_argument(
        "--workdir", type=Path, help="where SQLite files and server logs go (default: a temp dir)"
    )
    ap.add_argument(
        "--keep-sqlite",
        action="store_true",
        help="keep the SQLite files (needs --workdir) for bench/profile_api.py",
    )
    ap.add_argument(
        "--keep-pg",
        action="store_true",
        help="keep the PostgreSQL bench databases (their URLs are logged) for bench/profile_api.py",
    )
    ap.add_argument(
        "--server-python",
        help="interpreter for the API servers (default: this one); lessonloop comes from ./src",
    )
    ap.add_argument(
        "--existing-pg",
        metavar="NAME",
        help="time the search (and API) phases on this kept bench database instead of building one "
        "(migrated to head and its search lists brought up to date first)",
    )
    ap.add_argument(
        "--existing-sqlite", type=Path, metavar="FILE", help="the same with a kept SQLite bench file"
    )
    ap.add_argument(
        "--no-lists",
        action="store_true",
        help="search without the postings (decision 72): every match ranked, for a before/after",
    )
    ap.add_argument(
        "--postings-cache-mb",
        type=int,
        metavar="MB",
        help="the search process's cache of decoded postings (default: the app's); 0 reads every "
        "term's postings from the database on every search",
    )
    ap.add_argument("--json", type=Path, help="write results here (default bench/out/results-<time>.json)")
    args = ap.parse_args(argv)
    if args.no_lists:
        from lessonloop.store import postings

        postings.available = lambda _conn: False  # type: ignore[assignment]  # in this process only
    if args.postings_cache_mb is not None:
        from lessonloop.store import postings_base

        postings_base.CACHE_BYTES = args.postings_cache_mb << 20  # in this process only

    def _terminate(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _terminate)
    if args.keep_sqlite and args.workdir is None:
        ap.error("--keep-sqlite needs --workdir")
    if args.server_python:
        use_server_python(args.server_python)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    own_workdir = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="lessonloop-bench-")) if own_workdir else args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    info = machine()
    if "postgres" in backends:
        info["postgresql"] = pg_version(args.pg_url)
    if args.server_python:
        info["server_python"] = subprocess.run(
            [args.server_python, "-c", "import platform; print(platform.python_version())"],
            capture_output=True,
            text=True,
        ).stdout.strip()
    info["loadavg_start"] = loadavg()
    log(f"machine: {info}")
    queries = generate.queries(args.queries, args.seed)
    results: list[dict[str, Any]] = []
    existing: list[Target] = []
    if args.existing_pg:
        existing.append(
            Target(
                "postgres", args.pg_url.rsplit("/", 1)[0] + "/" + args.existing_pg, pg_name=args.existing_pg
            )
        )
    if args.existing_sqlite:
        existing.append(
            Target("sqlite", f"sqlite:///{args.existing_sqlite}", sqlite_path=args.existing_sqlite)
        )
    try:
        for target in existing:
            r = {"backend": target.backend, "existing": target.pg_name or str(target.sqlite_path)}
            results.append(r)
            try:
                r |= ready_existing(target)
                log(f"{target.backend} {r['size']:,} (existing): {r['search_lists']}")
                if "search" not in skip:
                    r["search"] = bench_search(target, queries, args.reps)
                    log(f"  search {r['search']['search']} direct {r['search']['direct_same_sql']}")
                if "api" not in skip:
                    r["api"] = bench_api(
                        target, r["size"], args.seconds, args.concurrency, workdir, args.seed
                    )
                    log(f"  list {r['api']['list_load']} bare {r['api']['bare_load']}")
            except Exception as exc:
                r["error"] = f"{type(exc).__name__}: {exc}"[:4000]
                log(f"{target.backend} (existing): FAILED: {r['error'][:500]}")
        for size in sizes if not existing else []:
            t = time.perf_counter()
            data = generate.dataset(size, args.seed)
            log(f"dataset {data} ({data.stat().st_size / 1e6:.1f} MB, {time.perf_counter() - t:.1f} s)")
            for backend in backends:
                r: dict[str, Any] = {"backend": backend, "size": size}
                results.append(r)
                try:
                    with fresh_target(
                        backend,
                        workdir,
                        args.pg_url,
                        size,
                        keep_sqlite=args.keep_sqlite,
                        keep_pg=args.keep_pg,
                    ) as target:
                        log(f"{backend} {size:,}: import")
                        r["import"] = bench_import(target, data, size)
                        log(f"  {r['import']}")
                        if "workspace" not in skip:
                            log(f"{backend} {size:,}: workspace (reviews, actions, lessons)")
                            r["workspace"] = build_workspace(
                                target, args.seed, args.review_fraction, args.lesson_fraction
                            )
                            log(f"  {r['workspace']}")
                        r["db_bytes"] = target.size_bytes()
                        r["db_breakdown"] = target.size_breakdown()
                        if "search" not in skip:
                            log(f"{backend} {size:,}: search ({len(queries)} queries x {args.reps})")
                            r["search"] = bench_search(target, queries, args.reps)
                            log(f"  search {r['search']['search']} direct {r['search']['direct_same_sql']}")
                        if "api" not in skip:
                            log(f"{backend} {size:,}: API ({args.seconds:g} s per load phase)")
                            r["api"] = bench_api(
                                target, size, args.seconds, args.concurrency, workdir, args.seed
                            )
                            log(f"  list {r['api']['list_load']} bare {r['api']['bare_load']}")
                except Exception as exc:  # keep going: one failing target should not hide the others
                    r["error"] = f"{type(exc).__name__}: {exc}"[:4000]
                    log(f"{backend} {size:,}: FAILED: {r['error'][:500]}")

    except KeyboardInterrupt:
        log("interrupted: cleaning up")
        return 130
    finally:
        if own_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        info["loadavg_end"] = loadavg()
        info["total_seconds"] = round(time.perf_counter() - started, 1)
        if results:
            print()
            print(table([row_for(r) for r in results], HEADERS))
            print()
            targets = [row for r in results for row in target_rows(r)]
            if targets:
                print(table(targets, TARGET_HEADERS))
                print()
            for r in results:
                if r.get("error"):
                    print(f"{r['backend']:>8} {r['size']:>7,}: ERROR {r['error'][:300]}")
                for v in verdicts(r):
                    print(f"{r['backend']:>8} {r['size']:>7,}: {v}")
            print(
                f"\nload average {info['loadavg_start']} -> {info['loadavg_end']}; "
                f"total {info['total_seconds']} s; API load: {args.concurrency} connections"
            )
            out = args.json or HERE / "out" / f"results-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(
                json.dumps(
                    {
                        "machine": info,
                        "args": vars(args) | {"json": str(out), "workdir": str(args.workdir)},
                        "results": results,
                    },
                    indent=2,
                    default=str,
                )
            )
            print(f"results: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
