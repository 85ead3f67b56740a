"""Where the time goes: the evidence behind docs/performance.md.

    .venv/bin/python bench/profile_api.py list   --url sqlite:////tmp/bench.db
    .venv/bin/python bench/profile_api.py search --url sqlite:////tmp/bench.db
    .venv/bin/python bench/profile_api.py import --url sqlite:////tmp/new.db --file bench/out/postmortems-100000-s7.jsonl
    .venv/bin/python bench/profile_api.py server --url sqlite:////tmp/bench.db --seconds 8

The database must hold a workspace built by ``bench/run.py`` (or ``import`` + ``generate.enrich``).

* ``list``: statements and ORM objects behind one ``GET /api/v1/failures`` page, its CPU cost,
  and the same page with the eager loads the response needs only (identical JSON checked);
* ``search``: per-query time of ``store.search.search`` vs its SQL run raw vs rank-only SQL vs
  "rank first, snippet the page only" SQL, plus the query plan of the slowest query;
* ``import``: a py-spy profile (all threads) of ``lessonloop import`` on a fresh database,
  folded by function (falls back to cProfile without py-spy);
* ``server``: a py-spy profile of ``lessonloop serve`` while ``bench/load.py`` drives the list.

py-spy: ``.venv/bin/pip install py-spy`` (optional; needs ptrace permission).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402
import run as bench  # noqa: E402
from lessonloop.access.actor import SystemActor  # noqa: E402  (after the path set-up above)


def _median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 2)


def profile_list(url: str, page_size: int = 50, repeat: int = 40) -> None:
    import warnings

    from sqlalchemy import event
    from sqlalchemy.orm import lazyload, noload, selectinload

    import lessonloop.bootstrap  # noqa: F401  (wires storage before it is opened)
    from lessonloop.failures import service
    from lessonloop.failures.models import Failure
    from lessonloop.failures.schemas import FailureOut
    from lessonloop.people.models import Person
    from lessonloop.settings import Settings
    from lessonloop.store.crud import paginate
    from lessonloop.store.engine import Database

    warnings.filterwarnings("ignore", message=".*noload.*")
    db = Database.open(Settings(database_url=url), migrate=False)
    statements: list[tuple[str, float]] = []
    started: dict[int, float] = {}

    def before(_c: Any, cursor: Any, *_a: Any) -> None:
        started[id(cursor)] = time.perf_counter()

    def after(_c: Any, cursor: Any, statement: str, *_a: Any) -> None:
        statements.append((statement, time.perf_counter() - started.pop(id(cursor), time.perf_counter())))

    from sqlalchemy import select

    from lessonloop.access.actor import SystemActor
    from lessonloop.access.policy import visible_failures_clause
    from lessonloop.access.scope import where_visible
    from lessonloop.access.viewer import viewer_for

    with db.unit() as s:  # the API's viewer: an ordinary team member (bench/run.py uses the same)
        member = s.scalar(select(Person.id).where(Person.handle == "user0100"))
        viewer = viewer_for(s, member) if member is not None else SystemActor("bench")

    def as_shipped(page: int) -> tuple[list[str], collections.Counter[str]]:
        with db.unit() as s:
            result = service.list_failures(s, page=page, page_size=page_size, viewer=viewer)
            out = [FailureOut.model_validate(f).model_dump_json() for f in result.items]
            return out, collections.Counter(type(o).__name__ for o in s.identity_map.values())

    def needed_only(page: int) -> tuple[list[str], collections.Counter[str]]:
        with db.unit() as s:
            stmt = where_visible(service.failure_query(), viewer, visible_failures_clause(viewer)).options(
                lazyload(Failure.team),
                lazyload(Failure.reporter),
                selectinload(Failure.people).options(noload(Person.memberships)),
            )
            result = paginate(s, stmt, page, page_size)
            out = [FailureOut.model_validate(f).model_dump_json() for f in result.items]
            return out, collections.Counter(type(o).__name__ for o in s.identity_map.values())

    print(f"# GET /api/v1/failures?page=P&page_size={page_size} without HTTP ({url})")
    print(f"viewer: {viewer}\n")
    event.listen(db.engine, "before_cursor_execute", before)
    event.listen(db.engine, "after_cursor_execute", after)
    statements.clear()
    shipped, objects = as_shipped(1)
    print(f"as shipped: {len(statements)} statements, objects loaded into the session: {dict(objects)}")
    for st, took in statements:
        print(f"  {took * 1000:7.2f} ms  {' '.join(st.split())[:150]}")
    statements.clear()
    lean, objects2 = needed_only(1)
    print(f"\nneeded only: {len(statements)} statements, objects: {dict(objects2)}")
    print(f"identical JSON for the page: {shipped == lean}")
    event.remove(db.engine, "before_cursor_execute", before)
    event.remove(db.engine, "after_cursor_execute", after)
    for page in (1, 20):
        for name, fn in (("as shipped", as_shipped), ("needed only", needed_only)):
            walls, cpus = [], []
            for _ in range(repeat):
                t, c = time.perf_counter(), time.process_time()
                fn(page)
                walls.append(time.perf_counter() - t)
                cpus.append(time.process_time() - c)
            print(
                f"page {page:>2} {name:<12} CPU median {_median_ms(cpus):6.2f} ms   wall median {_median_ms(walls):6.2f} ms"
            )
    db.close()


def profile_search(url: str, count: int = 200) -> None:
    from sqlalchemy import text

    import lessonloop.bootstrap  # noqa: F401  (wires storage before it is opened)
    from lessonloop.settings import Settings
    from lessonloop.store import search as store_search
    from lessonloop.store.engine import Database

    db = Database.open(Settings(database_url=url), migrate=False)
    sqlite = url.startswith("sqlite")
    queries = generate.queries(count)
    if sqlite:
        variants = {
            "rank only": (
                "SELECT rowid, kind, record_id, title FROM search_fts WHERE search_fts MATCH :q "
                "ORDER BY bm25(search_fts, 0.0, 0.0, 4.0, 1.0) LIMIT 20"
            ),
            "rank, then snippet page": (
                "WITH top AS (SELECT rowid AS id, bm25(search_fts, 0.0, 0.0, 4.0, 1.0) AS r FROM search_fts "
                "WHERE search_fts MATCH :q ORDER BY r LIMIT 20) "
                "SELECT kind, record_id, title, snippet(search_fts, 3, '[', ']', '…', 12), -top.r "
                "FROM search_fts JOIN top ON search_fts.rowid = top.id WHERE search_fts MATCH :q ORDER BY top.r"
            ),
            "match count": "SELECT count(*) FROM search_fts WHERE search_fts MATCH :q",
        }

        def param(q: str) -> str:
            return store_search.fts5_query(q)
    else:
        variants = {
            "rank only": (
                "SELECT doc_id FROM search_documents d, to_tsquery('english', :q) q WHERE d.tsv @@ q "
                "ORDER BY ts_rank(d.tsv, q, 1) DESC, doc_id LIMIT 20"
            ),
            "match, no rank": (
                "SELECT doc_id FROM search_documents d WHERE d.tsv @@ to_tsquery('english', :q) LIMIT 20"
            ),
            "match count": "SELECT count(*) FROM search_documents WHERE tsv @@ to_tsquery('english', :q)",
        }

        def param(q: str) -> str:
            return " & ".join(store_search.terms(q))

    times: dict[str, list[float]] = collections.defaultdict(list)
    per_query: list[tuple[float, str, int]] = []
    with db.engine.connect() as conn:
        from sqlalchemy.orm import Session

        session = Session(bind=conn)
        for q in queries:  # warm-up
            store_search.rank(session, q)
        for q in queries:
            t = time.perf_counter()
            store_search.rank(session, q)
            took = time.perf_counter() - t
            times["search()"].append(took)
            n = 0
            for name, sql in variants.items():
                t = time.perf_counter()
                rows = conn.execute(text(sql), {"q": param(q)}).all()
                times[name].append(time.perf_counter() - t)
                if name == "match count":
                    n = int(rows[0][0])
            per_query.append((took, q, n))
        print(f"# search over {url} ({len(queries)} queries, ms)\n")
        print(f"{'variant':<26} {'p50':>8} {'p95':>8} {'max':>8}")
        for name, vals in times.items():
            s = sorted(v * 1000 for v in vals)
            print(f"{name:<26} {bench.percentile(s, 50):8.2f} {bench.percentile(s, 95):8.2f} {s[-1]:8.2f}")
        per_query.sort(reverse=True)
        print("\nslowest queries through search():")
        for took, q, n in per_query[:8]:
            print(f"  {took * 1000:7.1f} ms  {n:>7} matches  {q!r}")
        matches = sorted(n for _, _, n in per_query)
        fast = [t for t, _, n in per_query if n <= matches[len(matches) // 2]]
        slow = [t for t, _, n in per_query if n > matches[len(matches) // 2]]
        print(
            f"\nmatches per query: median {matches[len(matches) // 2]}, p95 {bench.percentile(matches, 95)}, max {matches[-1]}"
        )
        print(
            f"search() median for queries with <= median matches: {_median_ms(fast)} ms; above: {_median_ms(slow)} ms"
        )
        worst = per_query[0][1]
        print(f"\nplan of the slowest query ({worst!r}), ranking every match:")
        if sqlite:
            for row in conn.execute(
                text(
                    "EXPLAIN QUERY PLAN SELECT kind FROM search_fts WHERE search_fts MATCH :q ORDER BY bm25(search_fts) LIMIT 20"
                ),
                {"q": param(worst)},
            ):
                print("  ", row)
        else:
            sql = (
                "EXPLAIN (ANALYZE, BUFFERS) WITH q AS (SELECT to_tsquery('english', :q) AS tsq) "
                "SELECT d.doc_id, ts_rank(d.tsv, q.tsq, 1) AS score FROM search_documents d, q "
                "WHERE d.tsv @@ q.tsq ORDER BY score DESC, d.doc_id LIMIT 20"
            )
            for (line,) in conn.execute(text(sql), {"q": param(worst)}):
                print("  ", line)
        session.close()
    db.close()


def _fold(raw: Path, top: int = 40) -> None:
    """Print inclusive and self sample shares by function from a py-spy raw (folded) file."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, n_text = line.rpartition(" ")
        n = int(n_text)
        total += n
        frames = []
        for frame in stack.split(";"):
            name, _, where = frame.partition(" (")
            frames.append(f"{name} ({where.split(':')[0].split('/')[-1]})" if where else name)
        for f in set(frames):
            inclusive[f] += n
        own[frames[-1]] += n
    print(f"{total} samples; inclusive share by function:")
    for f, n in inclusive.most_common(top):
        print(f"  {100 * n / total:5.1f}%  {f}")
    print("self share:")
    for f, n in own.most_common(15):
        print(f"  {100 * n / total:5.1f}%  {f}")


def _py_spy() -> str | None:
    cand = Path(sys.executable).with_name("py-spy")
    return str(cand) if cand.exists() else shutil.which("py-spy")


def profile_import(url: str, file: Path) -> None:
    import lessonloop.bootstrap  # noqa: F401  (wires storage before it is opened)
    from lessonloop.settings import Settings
    from lessonloop.store.engine import Database

    Database.open(Settings(database_url=url)).close()
    argv = [
        *bench.CLI,
        "--database-url",
        url,
        "--as",
        "bench",
        "import",
        str(file),
        "--format",
        "public-postmortems",
        "--json",
    ]
    spy = _py_spy()
    with tempfile.TemporaryDirectory() as tmp:
        if spy:
            raw = Path(tmp) / "import.txt"
            t = time.perf_counter()
            subprocess.run(
                [spy, "record", "-r", "100", "-f", "raw", "-o", str(raw), "--threads", "--", *argv],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            print(
                f"# lessonloop import {file.name} into {url} under py-spy: {time.perf_counter() - t:.1f} s\n"
            )
            _fold(raw)
        else:
            print("py-spy not found: cProfile of the main thread only")
            import cProfile
            import pstats

            from lessonloop.portability import import_file

            db = Database.open(Settings(database_url=url), migrate=False)
            pr = cProfile.Profile()
            with file.open("rb") as fh, db.unit(actor="bench") as s:
                pr.enable()
                import_file(s, fh, format="public-postmortems", viewer=SystemActor("bench"))
                pr.disable()
            pstats.Stats(pr).sort_stats("cumulative").print_stats(30)


def profile_server(url: str, seconds: float, concurrency: int) -> None:
    spy = _py_spy()
    if not spy:
        raise SystemExit("needs py-spy (.venv/bin/pip install py-spy)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        argv = [
            *bench.SERVE_PY,
            *bench.CLI[1:],
            "--database-url",
            url,
            "serve",
            "--no-worker",  # measure the server alone, without the worker's passes
            "--host",
            "127.0.0.1",
            "--port",
            "{port}",
        ]
        with bench.Server("lessonloop", argv, work, "/healthz") as srv:
            paths = bench.list_paths(7, 10**9)
            raw = work / "server.txt"
            spy_proc = subprocess.Popen(
                [
                    spy,
                    "record",
                    "-p",
                    str(srv.pid),
                    "-r",
                    "200",
                    "-d",
                    str(int(seconds)),
                    "-f",
                    "raw",
                    "-o",
                    str(raw),
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            result = bench.drive(srv, paths, seconds + 1, concurrency, "profile", retries=0)
            spy_proc.wait(timeout=60)
        print(f"# lessonloop serve on {url} under load: {result}\n")
        if raw.exists():
            _fold(raw)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=["list", "search", "import", "server"])
    ap.add_argument("--url", required=True, help="SQLAlchemy database URL")
    ap.add_argument("--file", type=Path, help="JSONL for 'import'")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--concurrency", type=int, default=4)
    args = ap.parse_args()
    if args.what == "list":
        profile_list(args.url)
    elif args.what == "search":
        profile_search(args.url)
    elif args.what == "import":
        profile_import(args.url, args.file or generate.dataset(10_000))
    else:
        profile_server(args.url, args.seconds, args.concurrency)
    return 0


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        raise SystemExit(main())
    os._exit(0)
