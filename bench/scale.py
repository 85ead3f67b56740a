"""Scale out on PostgreSQL (issue #13): 1M failures, several servers and workers on one database.

    .venv/bin/python bench/scale.py --size 10000                  # a quick look (part of make bench)
    .venv/bin/python bench/scale.py --size 1000000                # the issue's size (make bench-scale)
    .venv/bin/python bench/scale.py --size 1000000 --reps 3 --seconds 20

On a fresh PostgreSQL database ``lessonloop_bench_<pid>_<size>`` (dropped at the end, also on
Ctrl+C; ``--keep-pg`` keeps it):

1. **import** ``--size`` synthetic post-mortems (``bench/run.py``'s phase): records/s;
2. **workspace** (``generate.enrich``) and ``VACUUM ANALYZE``;
3. **search**: ``bench/run.py``'s phase (exact search as the member ``user0100`` through
   ``lessonloop.search.search``, and the same SQL on a raw connection: the limit);
4. **pages**: ``bench/pages.py``'s page list and timing, signed in as a member and an org admin,
   answer cache off, ``--reps`` timed fetches per page (default 3 here);
5. **scale**: the API as ``user0100`` (list pages, failure records, searches; answer cache off so
   every request does its work) at ``--concurrency`` connections for ``--seconds``, first against
   **one** ``lessonloop serve --no-worker`` with one ``lessonloop worker``, then against **two**
   servers with **two** workers on the same database; the load generator spreads its connections
   over the two ports round robin (what a proxy in front of them does). Figures: requests/s of each
   run and their ratio, errors (any status >= 400 or broken connection), and duplicate jobs: the
   workers run a pass every ``--worker-interval`` seconds, the daily/weekly job records are cleared
   before the two-worker run so both race for the same periods, and afterwards
   ``worker_job_runs`` (one row per job and period) and ``notifications`` (one per dedupe key) are
   checked, and the workers' logs must show each daily/weekly job done once per period;
6. **memory**: VmRSS/VmHWM of every server process, sampled from ``/proc`` every 0.5 s while
   the pages and the scale load run.

It prints a table: figure, measured, target, met or MISSED, the measured value as a multiple of
the target, and what it is compared with in the same run. Figures go to
``bench/out/scale-<time>.json``. Nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402
import pages as benchpages  # noqa: E402
import run as benchrun  # noqa: E402

#: Issue #13, "scale out on PostgreSQL" and "memory".
TARGETS = {
    "import_rps": 10_000.0,
    "search_p95_ms": 50.0,
    "page_p95_ms": 300.0,
    "rss_mb": 300.0,
    "scale_ratio": 1.6,
}

log = benchrun.log


# ------------------------------------------------------------------------------------------------
# The table (pure: tested in tests/test_bench_scale.py)
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One measured figure against its target.

    ``higher`` says which way is better (records/s: higher; milliseconds: lower). ``value`` is
    None when the phase did not run or failed: the figure is then missed, never met.
    """

    name: str
    value: float | None
    target: float
    higher: bool
    unit: str = ""
    reference: str = "-"

    @property
    def met(self) -> bool:
        if self.value is None:
            return False
        return self.value >= self.target if self.higher else self.value <= self.target

    @property
    def ratio(self) -> float | None:
        """The value as a multiple of the target (None for a zero target: counts of errors)."""
        if self.value is None or self.target == 0:
            return None
        return self.value / self.target

    def row(self) -> list[str]:
        def num(x: float) -> str:
            return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}".rstrip("0").rstrip(".")

        measured = "-" if self.value is None else f"{num(self.value)}{self.unit}"
        target = f"{'>=' if self.higher else '<='} {num(self.target)}{self.unit}"
        ratio = "-" if self.ratio is None else f"{self.ratio:.2f}x"
        return [self.name, measured, target, "met" if self.met else "MISSED", ratio, self.reference]


TABLE_HEADERS = ["figure", "measured", "target", "verdict", "x target", "in the same run"]


def figures(r: dict[str, Any]) -> list[Figure]:
    """The issue's figures from one run's results (phases that did not run show as missed)."""
    out: list[Figure] = []
    imp = r.get("import") or {}
    out.append(
        Figure(
            "import records/s",
            imp.get("records_per_s"),
            TARGETS["import_rps"],
            True,
            reference=f"{imp['records_per_cpu_s']:,} per importer CPU-s"
            if imp.get("records_per_cpu_s")
            else f"not measured: the kept database {imp['existing']} was reused"
            if imp.get("existing")
            else "-",
        )
    )
    s = r.get("search") or {}
    sp95 = s.get("search", {}).get("p95_ms")
    direct = s.get("direct_same_sql", {}).get("p95_ms")
    out.append(
        Figure(
            f"search p95 (as {s.get('as', 'user0100')})",
            sp95,
            TARGETS["search_p95_ms"],
            False,
            " ms",
            f"same SQL direct p95 {direct} ms ({s.get('ratio_p95')}x)" if direct else "-",
        )
    )
    pg = r.get("pages") or {}
    timed = [row for role in ("member", "org admin") for row in pg.get(role, []) if not row.get("skipped")]
    worst = max(timed, key=lambda row: row["p95_ms"]) if timed else None
    bad_status = [row["page"] for row in timed if row.get("status") != [200]]
    out.append(
        Figure(
            "every page p95 (the worst)" if not bad_status else f"every page p95 (non-200: {bad_status})",
            None if worst is None or bad_status else worst["p95_ms"],
            TARGETS["page_p95_ms"],
            False,
            " ms",
            f"{worst['page']}: server p95 {worst['server_p95_ms']} ms, {worst['queries']} queries"
            if worst
            else "-",
        )
    )
    rss = r.get("memory") or {}
    out.append(
        Figure(
            "server RSS under load, per process (max)",
            rss.get("max_rss_mb"),
            TARGETS["rss_mb"],
            False,
            " MB",
            f"peak VmHWM {rss.get('max_hwm_mb')} MB over {rss.get('processes', 0)} processes",
        )
    )
    sc = r.get("scale") or {}
    one, two = sc.get("one", {}), sc.get("two", {})
    out.append(
        Figure(
            "2 servers + 2 workers req/s vs 1",
            sc.get("ratio"),
            TARGETS["scale_ratio"],
            True,
            "x",
            f"1 server {one.get('rps', '-')} req/s ({_cores(one)} cores), "
            f"2 servers {two.get('rps', '-')} req/s ({_cores(two)} cores)"
            if sc
            else "-",
        )
    )
    errors = None if not sc else int(one.get("errors", 0)) + int(two.get("errors", 0))
    out.append(Figure("errors during the scale runs", errors, 0, False, reference="any status >= 400"))
    dup = sc.get("duplicates")
    # Zero duplicates means something only when the workers raced: with no daily or weekly job
    # logged done or skipped (no pass finished in the run: the first pass at 1M takes minutes),
    # the check saw nothing and the figure is not measured, not met.
    raced = dup is not None and dup["logged_runs"] + dup["logged_skips"] > 0
    out.append(
        Figure(
            "duplicate job runs",
            dup["total"] if dup is not None and raced else None,
            0,
            False,
            reference=(
                f"{dup['job_runs']} job records, {dup['notifications']} notifications; "
                f"{dup.get('passes', '?')} worker passes: {dup['logged_runs']} runs, {dup['logged_skips']} skips"
            )
            if dup
            else "-",
        )
    )
    return out


def _cores(run: dict[str, Any]) -> str:
    """The servers' (and the database backends') CPU during a scale run, in cores (CPU-seconds /
    seconds): how much of the machine they got."""
    cpu, seconds = run.get("server_cpu_s"), run.get("seconds")
    if not cpu or not seconds:
        return "-"
    db = run.get("db_cpu_s")
    return f"{sum(cpu) / seconds:.2f}" + (f" + database {db / seconds:.2f}" if db is not None else "")


# ------------------------------------------------------------------------------------------------
# Duplicate jobs (the log part is pure: tested)
# ------------------------------------------------------------------------------------------------

_JOB_LINE = re.compile(r"^([a-z][a-z0-9-]*): (.*)$")


def logged_runs(logs: Iterable[str], every: dict[str, str]) -> dict[str, dict[str, int]]:
    """Per daily/weekly job: how many passes (over all the workers' logs) *did* it, skipped it
    (another worker ran it, or it already ran this period) or failed. A job done twice in one
    period by two workers is a duplicate, whatever the database's constraint said."""
    out: dict[str, dict[str, int]] = {}
    for text in logs:
        for line in text.splitlines():
            m = _JOB_LINE.match(line.strip())
            if m is None or every.get(m.group(1), "tick") == "tick":
                continue
            counts = out.setdefault(m.group(1), {"ran": 0, "skipped": 0, "error": 0})
            summary = m.group(2)
            if summary.startswith("skipped"):
                counts["skipped"] += 1
            elif summary.startswith("error"):
                counts["error"] += 1
            else:
                counts["ran"] += 1
    return out


def duplicate_report(conn: Any, logs: list[str], every: dict[str, str]) -> dict[str, Any]:
    """Duplicates in the database (job records per job and period; notifications per dedupe
    key) and in the workers' logs (a daily/weekly job done more than once). ``conn`` is a
    SQLAlchemy connection to the bench database; the run is assumed to stay in one period."""
    from sqlalchemy import text

    job_runs = conn.execute(
        text("SELECT job, period, count(*) FROM worker_job_runs GROUP BY job, period HAVING count(*) > 1")
    ).all()
    notes = conn.execute(
        text("SELECT dedupe_key, count(*) FROM notifications GROUP BY dedupe_key HAVING count(*) > 1")
    ).all()
    runs = logged_runs(logs, every)
    twice = {job: c["ran"] for job, c in runs.items() if c["ran"] > 1}
    return {
        "job_runs": len(job_runs),
        "notifications": len(notes),
        "logged_twice": twice,
        "logged_runs": sum(c["ran"] for c in runs.values()),
        "logged_skips": sum(c["skipped"] for c in runs.values()),
        "logged_errors": sum(c["error"] for c in runs.values()),
        "passes": sum(text.count("\ndeliveries: ") + text.startswith("deliveries: ") for text in logs),
        "recorded_runs": int(conn.execute(text("SELECT count(*) FROM worker_job_runs")).scalar_one()),
        "notifications_total": int(conn.execute(text("SELECT count(*) FROM notifications")).scalar_one()),
        "total": len(job_runs) + len(notes) + len(twice),
    }


# ------------------------------------------------------------------------------------------------
# Processes
# ------------------------------------------------------------------------------------------------


class RssSampler:
    """Max VmRSS / VmHWM (kB) of the given processes, read from /proc every ``every`` seconds."""

    def __init__(self, pids: list[int], every: float = 0.5) -> None:
        self.pids = pids
        self.max_rss: dict[int, int] = {}
        self.max_hwm: dict[int, int] = {}
        self._stop = threading.Event()
        self._every = every
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        for pid in self.pids:
            st = benchrun.proc_status(pid)
            if "VmRSS" in st:
                self.max_rss[pid] = max(self.max_rss.get(pid, 0), st["VmRSS"])
                self.max_hwm[pid] = max(self.max_hwm.get(pid, 0), st.get("VmHWM", 0))

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self._every)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


def serve_argv(url: str) -> list[str]:
    return [
        *benchrun.SERVE_PY,
        *benchrun.CLI[1:],
        "--database-url",
        url,
        "serve",
        "--no-worker",  # the schedule runs in the `lessonloop worker` processes beside them
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
    ]


@contextlib.contextmanager
def workers(url: str, n: int, interval: float, workdir: Path, tag: str) -> Iterator[list[Path]]:
    """``n`` ``lessonloop worker --interval`` processes; SIGTERM at the end (their graceful stop)."""
    procs: list[subprocess.Popen[bytes]] = []
    paths: list[Path] = []
    try:
        for i in range(n):
            path = workdir / f"worker-{tag}-{i}.log"
            with path.open("wb") as out:
                procs.append(
                    subprocess.Popen(
                        [*benchrun.CLI, "--database-url", url, "worker", "--interval", f"{interval:g}"],
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                        env={**os.environ, "PYTHONUNBUFFERED": "1"},  # a killed worker's log stays whole
                    )
                )
            paths.append(path)
        yield paths
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def drive_ports(
    ports: list[int], paths: list[str], seconds: float, concurrency: int, headers: dict[str, str]
) -> dict[str, Any]:
    proc = subprocess.run(
        [
            sys.executable,
            str(HERE / "load.py"),
            *[a for p in ports for a in ("--port", str(p))],
            "--seconds",
            str(seconds),
            "--concurrency",
            str(concurrency),
            *[a for p in paths for a in ("--path", p)],
            *[a for k, v in headers.items() for a in ("--header", f"{k}: {v}")],
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 120,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"load generator failed: {proc.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


# ------------------------------------------------------------------------------------------------
# Phases
# ------------------------------------------------------------------------------------------------


def bench_pages(url: str, workdir: Path, reps: int) -> dict[str, Any]:
    """bench/pages.py's pages and timing, with the server's memory sampled meanwhile."""
    env = {"LESSONLOOP_API_CACHE": "0", "LESSONLOOP_SERVER_TIMING": "1"}
    out: dict[str, Any] = {}
    with benchrun.Server("lessonloop-pages", serve_argv(url), workdir, "/healthz", env=env) as srv:
        with RssSampler([srv.pid]) as rss:
            for role, handle in (("member", benchpages.MEMBER), ("org admin", benchpages.ADMIN)):
                browser = benchpages.Browser(srv.port, handle)
                try:
                    out[role] = benchpages.time_pages(browser, reps, admin=role == "org admin")
                finally:
                    browser.close()
        out["rss_kb"] = rss.max_rss.get(srv.pid)
        out["hwm_kb"] = rss.max_hwm.get(srv.pid)
    return out


def api_paths(port: int, headers: dict[str, str], size: int, seed: int) -> list[str]:
    """What the load asks: 3 list pages : 1 failure record : 1 search, as ``user0100``."""
    status, body = benchrun.http_get(
        port, "/api/v1/failures?page=1&page_size=50", timeout=60, headers=headers
    )
    if status != 200:
        raise RuntimeError(f"list answered {status}: {body[:300]!r}")
    ids = [item["id"] for item in json.loads(body)["items"]][:16]
    lists = benchrun.list_paths(seed, size, count=48)
    records = [f"/api/v1/failures/{i}" for i in ids]
    searches = [f"/api/v1/search?q={urllib.parse.quote_plus(q)}" for q in generate.queries(16, seed)]
    mixed: list[str] = []
    for i in range(16):
        mixed += [*lists[3 * i : 3 * i + 3], records[i % len(records)], searches[i]]
    return mixed


def bench_scale(
    target: benchrun.Target,
    size: int,
    workdir: Path,
    seconds: float,
    concurrency: int,
    worker_interval: float,
    seed: int,
) -> dict[str, Any]:
    from sqlalchemy import create_engine, text

    from lessonloop.worker.scheduler import load_jobs

    every = {name: j.every for name, j in load_jobs().items()}
    headers = {"Authorization": f"Bearer {benchrun.api_token(target)}"}
    env = {"LESSONLOOP_API_CACHE": "0"}  # every request does its work: what scaling out is for
    argv = serve_argv(target.url)
    out: dict[str, Any] = {"concurrency": concurrency, "seconds": seconds, "worker_interval": worker_interval}
    engine = create_engine(target.url)
    try:
        for label, n in (("one", 1), ("two", 2)):
            with engine.begin() as conn:  # both runs race for the daily/weekly periods afresh
                conn.execute(text("DELETE FROM worker_job_runs"))
            with contextlib.ExitStack() as stack:
                servers = [
                    stack.enter_context(
                        benchrun.Server(f"scale-{label}-{i}", argv, workdir, "/healthz", env=env)
                    )
                    for i in range(n)
                ]
                logs = stack.enter_context(workers(target.url, n, worker_interval, workdir, label))
                paths = api_paths(servers[0].port, headers, size, seed)
                for srv in servers:  # warm-up: templates, pools, the access clauses
                    drive_ports([srv.port], paths, 2.0, 2, headers)
                ports = [s.port for s in servers]
                cpu0 = [benchrun.proc_cpu(s.pid) for s in servers]
                la0 = benchrun.loadavg()
                log(f"scale: {n} server(s) + {n} worker(s), {concurrency} connections, {seconds:g} s")
                db_cpu = benchrun.PgBackendCpu(target)  # is the database what they wait on?
                with RssSampler([s.pid for s in servers]) as rss:
                    result = drive_ports(ports, paths, seconds, concurrency, headers)
                result["db_cpu_s"] = round(db_cpu.stop(), 2)
                result["loadavg"] = la0
                result["server_cpu_s"] = [
                    round(benchrun.proc_cpu(s.pid) - c, 2) for s, c in zip(servers, cpu0, strict=True)
                ]
                result["rss_kb"] = [rss.max_rss.get(s.pid) for s in servers]
                result["hwm_kb"] = [rss.max_hwm.get(s.pid) for s in servers]
                result["alive"] = all(s.alive() for s in servers)
                if not result["alive"]:
                    result["errors"] = int(result.get("errors", 0)) + 1
                log(f"  {result}")
                out[label] = result
            # the workers have stopped (SIGTERM, graceful): their logs are complete
            out[label]["worker_logs"] = [p.name for p in logs]
            if label == "two":
                with engine.connect() as conn:
                    out["duplicates"] = duplicate_report(
                        conn, [p.read_text(errors="replace") for p in logs], every
                    )
                log(f"  duplicates: {out['duplicates']}")
    finally:
        engine.dispose()
    if out["one"].get("rps"):
        out["ratio"] = round(out["two"]["rps"] / out["one"]["rps"], 2)
    return out


def memory(r: dict[str, Any]) -> dict[str, Any]:
    """The largest server RSS seen under load, over the pages server and the scale servers."""
    rss: list[int] = []
    hwm: list[int] = []
    pg = r.get("pages") or {}
    if pg.get("rss_kb"):
        rss.append(pg["rss_kb"])
        hwm.append(pg.get("hwm_kb") or 0)
    sc = r.get("scale") or {}
    for label in ("one", "two"):
        rss += [x for x in sc.get(label, {}).get("rss_kb", []) if x]
        hwm += [x for x in sc.get(label, {}).get("hwm_kb", []) if x]
    if not rss:
        return {}
    return {"max_rss_mb": round(max(rss) / 1024), "max_hwm_mb": round(max(hwm) / 1024), "processes": len(rss)}


def print_pages(result: dict[str, Any]) -> None:
    headers = [
        "person",
        "page",
        "p50 ms",
        "p95 ms",
        "server p95",
        "queries",
        f"p95/{TARGETS['page_p95_ms']:.0f}",
    ]
    rows = []
    for role in ("member", "org admin"):
        for row in result.get(role, []):
            if row.get("skipped"):
                rows.append([role, row["page"], "-", "-", "-", "-", "no record"])
                continue
            rows.append(
                [
                    role,
                    row["page"],
                    f"{row['p50_ms']:.0f}",
                    f"{row['p95_ms']:.0f}",
                    f"{row['server_p95_ms']:.0f}",
                    str(row["queries"]),
                    f"{row['p95_ms'] / TARGETS['page_p95_ms']:.2f}x"
                    + ("" if row.get("status") == [200] else f" {row.get('status')}"),
                ]
            )
    print(benchrun.table(rows, headers))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=10_000, help="failures (default 10000; the issue: 1000000)")
    ap.add_argument("--reps", type=int, default=3, help="timed fetches per page (default 3)")
    ap.add_argument("--queries", type=int, default=200, help="search queries (default 200)")
    ap.add_argument("--search-reps", type=int, default=1, help="timed passes over the queries (default 1)")
    ap.add_argument("--seconds", type=float, default=10.0, help="each scale run's load (default 10)")
    ap.add_argument("--concurrency", type=int, default=8, help="connections in the scale runs (default 8)")
    ap.add_argument("--worker-interval", type=float, default=3.0, help="seconds between worker passes")
    ap.add_argument("--review-fraction", type=float, default=0.10)
    ap.add_argument("--lesson-fraction", type=float, default=0.02)
    ap.add_argument("--seed", type=int, default=generate.DEFAULT_SEED)
    ap.add_argument("--skip", default="", help="phases to skip: search,pages,scale")
    ap.add_argument("--pg-url", default=benchrun.DEFAULT_PG_URL)
    ap.add_argument("--keep-pg", action="store_true", help="keep the bench database (its URL is logged)")
    ap.add_argument(
        "--existing-pg",
        metavar="NAME",
        help="reuse a kept bench database on --pg-url's server (migrated first; not imported, not dropped): "
        "every phase but the import, whose figure is then not measured",
    )
    ap.add_argument("--json", type=Path, help="default bench/out/scale-<time>.json")
    args = ap.parse_args(argv)

    def _terminate(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _terminate)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    info = benchrun.machine() | {
        "postgresql": benchrun.pg_version(args.pg_url),
        "loadavg_start": benchrun.loadavg(),
    }
    r: dict[str, Any] = {"size": args.size}
    started = time.perf_counter()
    try:
        with contextlib.ExitStack() as stack:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lessonloop-scale-")))
            if args.existing_pg:
                url = args.pg_url.rsplit("/", 1)[0] + "/" + args.existing_pg
                target = benchrun.Target("postgres", url, pg_name=args.existing_pg)
            else:
                t = time.perf_counter()
                data = generate.dataset(args.size, args.seed)
                log(f"dataset {data} ({time.perf_counter() - t:.0f} s)")
                target = stack.enter_context(
                    benchrun.fresh_target("postgres", workdir, args.pg_url, args.size, keep_pg=args.keep_pg)
                )
            try:
                if args.existing_pg:
                    ready = benchrun.ready_existing(target)
                    args.size = r["size"] = ready["size"]
                    r["import"] = {"existing": args.existing_pg}
                    log(f"existing {args.existing_pg}: {args.size:,} failures, {ready['search_lists']}")
                else:
                    log(f"import {args.size:,}")
                    r["import"] = benchrun.bench_import(target, data, args.size)
                    log(f"  {r['import']}")
                    log("workspace")
                    r["workspace"] = benchrun.build_workspace(
                        target, args.seed, args.review_fraction, args.lesson_fraction
                    )
                    log(f"  {r['workspace']}")
                r["db_mb"] = round(target.size_bytes() / 1e6)
                if "search" not in skip:
                    queries = generate.queries(args.queries, args.seed)
                    log(f"search ({len(queries)} queries x {args.search_reps})")
                    r["search"] = benchrun.bench_search(target, queries, args.search_reps)
                    log(f"  {r['search']['search']}")
                if "pages" not in skip:
                    benchpages.give_accounts(target.url)
                    log(f"pages ({args.reps} fetches each)")
                    r["pages"] = bench_pages(target.url, workdir, args.reps)
                if "scale" not in skip:
                    r["scale"] = bench_scale(
                        target,
                        args.size,
                        workdir,
                        args.seconds,
                        args.concurrency,
                        args.worker_interval,
                        args.seed,
                    )
            except Exception as exc:  # print what was measured; the failure shows as MISSED rows
                r["error"] = f"{type(exc).__name__}: {exc}"[:4000]
                log(f"FAILED: {r['error'][:1000]}")
    except KeyboardInterrupt:
        log("interrupted: cleaning up")
        return 130
    r["memory"] = memory(r)
    info["loadavg_end"] = benchrun.loadavg()
    info["total_seconds"] = round(time.perf_counter() - started, 1)
    if r.get("pages"):
        print(f"\n### every page at {args.size:,} failures on PostgreSQL, signed in, answer cache off\n")
        print_pages(r["pages"])
    print(f"\n### scale out on PostgreSQL, {args.size:,} failures (issue #13)\n")
    print(benchrun.table([f.row() for f in figures(r)], TABLE_HEADERS))
    if r.get("error"):
        print(f"\nERROR: {r['error'][:500]}")
    print(
        f"\nload average {info['loadavg_start']} -> {info['loadavg_end']} (2 cores, shared);"
        f" total {info['total_seconds']} s; database {r.get('db_mb', '-')} MB"
    )
    out = args.json or generate.OUT_DIR / f"scale-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": info, "args": vars(args), "results": r}, indent=2, default=str))
    print(f"results: {out}")
    return 0 if not r.get("error") else 1


if __name__ == "__main__":
    raise SystemExit(main())
