"""Every page of the web app, as a signed-in person loads it, uncached, on a large workspace.

    .venv/bin/python bench/pages.py                                  # 100k, SQLite and PostgreSQL
    .venv/bin/python bench/pages.py --size 10000 --backends sqlite   # a quick look
    .venv/bin/python bench/pages.py --sqlite-file bench/out/bench-100000.db   # reuse a built one
    .venv/bin/python bench/pages.py --pg-database lessonloop_bench_123_100000  # a kept PostgreSQL one

For each backend: a fresh database with ``--size`` imported failures and the bench workspace
around them (``bench/run.py``'s import and ``generate.enrich``), accounts for an ordinary member
(``user0100``, in one team) and an org admin (``user0001``), then ``lessonloop serve --no-worker``
with the API answer cache off (``LESSONLOOP_API_CACHE=0``) and ``LESSONLOOP_SERVER_TIMING=1``.
Each person signs in through the login form like a browser (session cookie, CSRF token) and
fetches every page ``--reps`` times after one warm-up; the record pages use the first record
the person's own list pages link to. Figures per page and person:

* **p50 / p95 ms**: the time to the whole answer, measured by the client on 127.0.0.1;
* **server p95 ms**: the server's own time for the request (``Server-Timing: app``);
* **queries**: SQL statements per request (``Server-Timing: db``), and the time they took;
* **ratio**: p95 / the 150 ms limit of issue #13 (<= 1.00 is met).

Nothing here asserts on time; the run prints a table and keeps the figures in
``bench/out/pages-<time>.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402
import run as benchrun  # noqa: E402
from load import percentile  # noqa: E402

LIMIT_MS = 150.0
#: A fetch still unanswered after this long is recorded as status 0 (missed) and the run goes on.
PAGE_TIMEOUT_S = 60.0
PASSWORD = "bench-pages-password-1"
MEMBER, ADMIN = "user0100", "user0001"

#: (name, path or a list page + the pattern of the record link to follow on it)
PAGES: list[tuple[str, str, str | None]] = [
    ("dashboard", "/", None),
    ("actions board", "/actions", None),
    ("insights", "/insights", None),
    ("search", "/search?q=database+outage", None),
    ("failures list", "/failures", None),
    ("failures filtered", "/failures?status=observed", None),
    ("failure", "/failures", r'href="(/failures/\d+)"'),
    # the failure page's "have we seen this before?" section, which the page loads after it is
    # shown (decision 64): timed as the browser asks for it, with htmx's header
    ("failure: similar", "/failures", r'href="(/failures/\d+)"'),
    ("review wizard", "/failures?status=observed", r'href="(/failures/\d+)"'),  # + /review (below)
    ("log a failure", "/failures/new", None),
    ("action", "/actions", r'href="/failures/\d+#action-(\d+)"'),
    ("experiments", "/experiments", None),
    ("lessons", "/lessons", None),
    ("lesson", "/lessons", r'href="(/lessons/\d+)"'),
    ("write a lesson", "/lessons/new", None),
    ("teams", "/teams", None),
    ("team", "/teams", r'href="(/teams/\d+)"'),
    ("person", "/teams", r'href="(/people/[\w.-]+)"'),
    ("checklists", "/checklists", None),
    ("guardrails", "/guardrails", None),
    ("coaching", "/coaching", None),
    ("notifications", "/notifications", None),
    ("account", "/account", None),
    ("accounts (admin)", "/admin/accounts", None),
]
ADMIN_ONLY = {"accounts (admin)"}
#: Fragments a page asks for with htmx once it is shown (the request carries ``HX-Request``).
HTMX_PAGES = {"failure: similar"}


def log(msg: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S}] {msg}", flush=True)


def give_accounts(url: str) -> None:
    """A member's and an org admin's sign-in, made as the bench would by the CLI."""
    from sqlalchemy import select

    import lessonloop.bootstrap  # noqa: F401  (wires storage before it is opened)
    from lessonloop.access.actor import SystemActor
    from lessonloop.accounts.models import Account
    from lessonloop.accounts.service import create_account
    from lessonloop.people.models import Person
    from lessonloop.settings import Settings
    from lessonloop.store.engine import Database

    db = Database.open(Settings(database_url=url), migrate=False)
    try:
        with db.unit(actor="bench-pages") as s:
            for handle, admin in ((MEMBER, False), (ADMIN, True)):
                person = s.scalar(select(Person).where(Person.handle == handle))
                if person is None:
                    raise SystemExit(f"the workspace has no {handle}: build it with generate.enrich")
                if s.scalar(select(Account).where(Account.person_id == person.id)) is None:
                    create_account(
                        s, handle, password=PASSWORD, admin=admin, viewer=SystemActor("bench-pages")
                    )
    finally:
        db.close()


def failure_count(url: str) -> int:
    """How many failures a reused database holds (its table's header says so, not ``--size``)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(text("SELECT count(*) FROM failures")) or 0)
    finally:
        engine.dispose()


class Browser:
    """A signed-in person: one keep-alive connection with the session cookie, like a browser tab."""

    def __init__(self, port: int, handle: str) -> None:
        import httpx

        self.client = httpx.Client(
            base_url=f"http://127.0.0.1:{port}", timeout=PAGE_TIMEOUT_S, follow_redirects=False
        )
        page = self.client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        if token is None:
            raise RuntimeError(f"no CSRF token on /login ({page.status_code})")
        signed = self.client.post(
            "/login",
            data={"handle": handle, "password": PASSWORD, "csrf_token": token.group(1), "next": "/"},
        )
        if signed.status_code not in (302, 303):
            raise RuntimeError(f"{handle} could not sign in: {signed.status_code} {signed.text[:200]}")
        self.handle = handle

    def get(self, path: str, htmx: bool = False) -> tuple[int, float, dict[str, float], str]:
        import httpx

        from lessonloop.server_timing import parse_server_timing

        headers = {"HX-Request": "true"} if htmx else None
        t0 = time.perf_counter()
        try:
            # redirects followed as a browser would (the wizard's first step)
            r = self.client.get(path, follow_redirects=True, headers=headers)
        except httpx.TimeoutException:
            # a page that never answers is a figure (status 0: missed), not the end of the run
            return 0, (time.perf_counter() - t0) * 1000, {}, ""
        ms = (time.perf_counter() - t0) * 1000
        return r.status_code, ms, parse_server_timing(r.headers.get("server-timing", "")), r.text

    def close(self) -> None:
        self.client.close()


def resolve(browser: Browser, name: str, path: str, pattern: str | None) -> str | None:
    """The path to time: ``path`` itself, or the first record link on it (None: nothing to open)."""
    if pattern is None:
        return path
    status, _ms, _t, body = browser.get(path)
    if status != 200:
        return None
    links = [m for m in re.findall(pattern, body) if not m.endswith(("/new", "/edit"))]
    if not links:
        return None
    if name == "action":
        return f"/actions/{links[0]}"
    if name == "failure: similar":
        return links[0] + "/similar"
    if name == "review wizard":
        # The first failure awaiting review that this person may review (others answer 403).
        for link in links[:20]:
            if browser.get(link + "/review")[0] == 200:
                return link + "/review"
        return None
    return links[0]


def time_pages(
    browser: Browser, reps: int, admin: bool, skip: frozenset[str] = frozenset()
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name, path, pattern in PAGES:
        if (name in ADMIN_ONLY and not admin) or name in skip:
            continue
        target = resolve(browser, name, path, pattern)
        if target is None:
            rows.append({"page": name, "path": f"{path} (no record to open)", "skipped": True})
            continue
        htmx = name in HTMX_PAGES
        status, _ms, _t, _body = browser.get(
            target, htmx
        )  # warm-up: templates compiled, pages cached by the OS
        client_ms, server_ms, db_ms, queries, statuses = [], [], [], [], set()
        for _ in range(reps):
            status, ms, timing, _body = browser.get(target, htmx)
            statuses.add(status)
            client_ms.append(ms)
            server_ms.append(timing.get("app_ms", float("nan")))
            db_ms.append(timing.get("db_ms", float("nan")))
            queries.append(timing.get("queries", float("nan")))
        # percentile() wants an ascending list: unsorted, "p95" was the last of the reps.
        client_ms.sort()
        p95 = percentile(client_ms, 95)
        rows.append(
            {
                "page": name,
                "path": target,
                "status": sorted(statuses),
                "p50_ms": round(statistics.median(client_ms), 1),
                "p95_ms": round(p95, 1),
                "server_p95_ms": round(percentile(sorted(server_ms), 95), 1),
                "db_p50_ms": round(statistics.median(db_ms), 1),
                "queries": int(statistics.median(queries)) if queries else None,
                "ratio": round(p95 / LIMIT_MS, 2),
                "met": p95 <= LIMIT_MS and statuses == {200},
            }
        )
        log(f"  {browser.handle:9} {name:18} {target:40} p95 {p95:7.1f} ms  {rows[-1]['queries']} queries")
    return rows


def bench_pages(url: str, workdir: Path, reps: int, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    argv = [
        *benchrun.SERVE_PY,
        *benchrun.CLI[1:],
        "--database-url",
        url,
        "serve",
        "--no-worker",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
    ]
    env = {"LESSONLOOP_API_CACHE": "0", "LESSONLOOP_SERVER_TIMING": "1"}
    out: dict[str, Any] = {}
    with benchrun.Server("lessonloop-pages", argv, workdir, "/healthz", env=env) as srv:
        for role, handle in (("member", MEMBER), ("org admin", ADMIN)):
            browser = Browser(srv.port, handle)
            try:
                out[role] = time_pages(browser, reps, admin=role == "org admin", skip=skip)
            finally:
                browser.close()
        out["server_rss_kb"] = benchrun.proc_status(srv.pid).get("VmRSS")
        out["server_crashes"] = srv.crashes
    return out


def print_table(backend: str, size: int, result: dict[str, Any]) -> None:
    headers = ["person", "page", "p50 ms", "p95 ms", "server p95", "queries", "db ms", "p95/150", "met"]
    rows: list[list[str]] = []
    for role in ("member", "org admin"):
        for r in result.get(role, []):
            if r.get("skipped"):
                rows.append([role, r["page"], "—", "—", "—", "—", "—", "—", "no record"])
                continue
            rows.append(
                [
                    role,
                    r["page"],
                    f"{r['p50_ms']:.0f}",
                    f"{r['p95_ms']:.0f}",
                    f"{r['server_p95_ms']:.0f}",
                    str(r["queries"]),
                    f"{r['db_p50_ms']:.0f}",
                    f"{r['ratio']:.2f}×",
                    "met" if r["met"] else f"MISSED{'' if r['status'] == [200] else ' ' + str(r['status'])}",
                ]
            )
    print(
        f"\n### {backend}, {size:,} failures: every page, signed in, answer cache off (limit p95 <= 150 ms)\n"
    )
    print(benchrun.table(rows, headers))
    timed = [r for role in ("member", "org admin") for r in result.get(role, []) if not r.get("skipped")]
    met = sum(1 for r in timed if r["met"])
    worst = max(timed, key=lambda r: r["p95_ms"]) if timed else None
    print(
        f"\n{met} of {len(timed)} pages met"
        + (
            f"; worst {worst['page']} p95 {worst['p95_ms']:.0f} ms ({worst['ratio']:.2f}× the limit)"
            if worst
            else ""
        )
        + f"; server RSS {result.get('server_rss_kb', 0) / 1024:.0f} MB"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=100_000, help="failures (default 100000)")
    ap.add_argument("--backends", default="sqlite,postgres", help="sqlite, postgres or both")
    ap.add_argument("--reps", type=int, default=12, help="timed fetches per page (default 12)")
    ap.add_argument("--seed", type=int, default=generate.DEFAULT_SEED)
    ap.add_argument("--pg-url", default=benchrun.DEFAULT_PG_URL)
    ap.add_argument("--sqlite-file", type=Path, help="an already built bench database to reuse (SQLite only)")
    ap.add_argument(
        "--pg-database",
        help="an already built PostgreSQL bench database on --pg-url's server to reuse (not rebuilt, not dropped)",
    )
    ap.add_argument("--keep-sqlite", action="store_true", help="keep the SQLite file for another run")
    ap.add_argument("--skip-pages", default="", help="page names to leave out, comma-separated (e.g. search)")
    ap.add_argument(
        "--json", type=Path, help="where to keep the figures (default bench/out/pages-<time>.json)"
    )
    args = ap.parse_args(argv)

    results: dict[str, Any] = {"machine": benchrun.machine(), "size": args.size, "runs": {}}
    skip = frozenset(n.strip() for n in args.skip_pages.split(",") if n.strip())
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lessonloop-pages-")))
        if args.sqlite_file is not None:
            log(f"reusing {args.sqlite_file}")
            give_accounts(f"sqlite:///{args.sqlite_file}")
            results["runs"]["sqlite"] = bench_pages(f"sqlite:///{args.sqlite_file}", workdir, args.reps, skip)
            print_table("sqlite", failure_count(f"sqlite:///{args.sqlite_file}"), results["runs"]["sqlite"])
        if args.pg_database:
            url = args.pg_url.rsplit("/", 1)[0] + f"/{args.pg_database}"
            log(f"reusing PostgreSQL database {args.pg_database}")
            give_accounts(url)
            results["runs"]["postgres"] = bench_pages(url, workdir, args.reps, skip)
            print_table("postgres", failure_count(url), results["runs"]["postgres"])
        if args.sqlite_file is None and not args.pg_database:
            for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
                keep_dir = generate.OUT_DIR if args.keep_sqlite else workdir
                with benchrun.fresh_target(
                    backend, keep_dir, args.pg_url, args.size, keep_sqlite=args.keep_sqlite
                ) as target:
                    data = generate.dataset(args.size, args.seed)
                    log(f"{backend}: importing {args.size:,} failures")
                    benchrun.bench_import(target, data, args.size)
                    log(f"{backend}: building the workspace")
                    benchrun.build_workspace(target, args.seed, 0.10, 0.02)
                    give_accounts(target.url)
                    log(f"{backend}: timing every page")
                    results["runs"][backend] = bench_pages(target.url, workdir, args.reps, skip)
                    print_table(backend, args.size, results["runs"][backend])
    out = args.json or generate.OUT_DIR / f"pages-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str))
    log(f"figures kept in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
