"""Load with writes while an import runs (issue #17, item 10): 80% reads / 20% writes through the
API at 1, 8, 32 and 64 connections, on SQLite and PostgreSQL, with a public post-mortems import
writing to the same database at every level.

    .venv/bin/python bench/load_faults.py                       # both backends, 10 s per level
    .venv/bin/python bench/load_faults.py --backends sqlite --levels 1,64 --seconds 5
    make load-faults

For each backend: a fresh database (a SQLite file, or a PostgreSQL database created on --pg-url
and dropped at the end) with a base of generated post-mortems; a real ``lessonloop serve`` on a
free 127.0.0.1 port; an API token for a person. Then, per level, ``lessonloop import FILE
--format public-postmortems`` starts (a file of --import-n new records from
``bench/generate.py``) and N keep-alive connections send, for --seconds:

* reads (80%): ``GET /api/v1/failures?page=P``, ``GET /api/v1/failures/ID/overview``,
  ``GET /api/v1/search?q=…``;
* writes (20%): ``POST /api/v1/failures`` (half) and ``PATCH /api/v1/failures/ID`` of a failure
  this connection logged (the other half).

It prints per backend and level: requests, errors by status, p50/p95 (all, and writes only) and
the import's outcome (ok or aborted, records created, seconds, and whether it was still running
when the load ended); then p95 at the highest level beside p95 at 1. Exit code 1 when any request
failed or an import aborted. Nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402
from load import percentile  # noqa: E402
from run import CLI, DEFAULT_PG_URL, SERVE_PY, Server, Target, fresh_target, log  # noqa: E402

REQUEST_TIMEOUT_S = 120.0  # a request slower than this counts as an error ("timeout")


@dataclass
class Level:
    connections: int
    latencies: list[float] = field(default_factory=list)
    write_latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    import_: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> Counter[str]:
        return Counter({k: v for k, v in self.statuses.items() if not k.startswith("2")})


# ------------------------------------------------------------------------------------------------
# A small keep-alive HTTP/1.1 client that can send bodies and read the answer's
# ------------------------------------------------------------------------------------------------


async def _read(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
        elif name.strip().lower() == b"transfer-encoding":
            raise RuntimeError("chunked answers are not expected from the JSON API")
    return status, (await reader.readexactly(length)) if length else b""


class Connection:
    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        data = b"" if body is None else json.dumps(body).encode()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nAccept: application/json\r\n"
            f"Authorization: Bearer {self.token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n"
        )
        self.writer.write(head.encode("latin-1") + data)
        try:
            return await asyncio.wait_for(_read(self.reader), REQUEST_TIMEOUT_S)
        except BaseException:
            self.close()  # the connection's state is unknown: open a new one next time
            raise

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


# ------------------------------------------------------------------------------------------------
# The 80/20 mix
# ------------------------------------------------------------------------------------------------


async def _client(
    n: int, port: int, token: str, base_ids: list[int], queries: list[str], deadline: float, level: Level
) -> None:
    rng = random.Random(1000 + n)
    conn = Connection(port, token)
    mine: list[int] = []  # failures this connection logged: it may edit them
    i = 0
    try:
        while time.perf_counter() < deadline:
            i += 1
            roll = rng.random()
            write = roll >= 0.8
            if roll < 0.4:
                method, path, body = "GET", f"/api/v1/failures?page={rng.randint(1, 5)}&page_size=20", None
            elif roll < 0.6:
                method, path, body = "GET", f"/api/v1/failures/{rng.choice(base_ids)}/overview", None
            elif roll < 0.8:
                q = rng.choice(queries).replace(" ", "+")
                method, path, body = "GET", f"/api/v1/search?q={q}&limit=20", None
            elif roll < 0.9 or not mine:
                body = {"title": f"Logged under load {n}.{i}", "observation": "Written by load_faults."}
                method, path = "POST", "/api/v1/failures"
            else:
                method, path, body = "PATCH", f"/api/v1/failures/{rng.choice(mine)}", {"impact": f"edit {i}"}
            t0 = time.perf_counter()
            try:
                status, answer = await conn.request(method, path, body)
            except (TimeoutError, asyncio.IncompleteReadError, ConnectionError) as exc:
                level.statuses["timeout" if isinstance(exc, TimeoutError) else "connection"] += 1
                continue
            ms = (time.perf_counter() - t0) * 1000
            level.latencies.append(ms)
            if write:
                level.write_latencies.append(ms)
            level.statuses[str(status)] += 1
            if method == "POST" and status == 201:
                mine.append(int(json.loads(answer)["id"]))
    finally:
        conn.close()


async def _drive(
    port: int, token: str, base_ids: list[int], queries: list[str], level: Level, seconds: float
) -> None:
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(_client(n, port, token, base_ids, queries, deadline, level) for n in range(level.connections))
    )
    level.seconds = time.perf_counter() - started


# ------------------------------------------------------------------------------------------------
# Setup, the import beside the load, the report
# ------------------------------------------------------------------------------------------------


def _cli(target: Target, *args: str) -> subprocess.Popen[str]:
    argv = [*CLI, "--database-url", target.url, "--as", "bench", *args]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _import(target: Target, path: Path) -> subprocess.Popen[str]:
    return _cli(target, "import", str(path), "--format", "public-postmortems", "--json")


def _outcome(proc: subprocess.Popen[str], started: float, load_ended: float) -> dict[str, Any]:
    out, err = proc.communicate()
    ended = time.perf_counter()
    result: dict[str, Any] = {"seconds": round(ended - started, 1), "overlapped_load": ended >= load_ended}
    if proc.returncode == 0:
        answer = json.loads(out)
        result.update(outcome="ok", created=answer["created"], skipped=answer["skipped"])
    else:
        result.update(outcome="aborted", error=(err.strip().splitlines() or ["?"])[-1][:200])
    return result


def _setup(target: Target, base: Path) -> tuple[str, list[int]]:
    """Import the base records, then an API token for a new person; the ids of the base failures."""
    proc = _import(target, base)
    _out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"base import failed: {err.strip()}")
    from sqlalchemy import select

    import lessonloop.bootstrap  # noqa: F401  (wires storage before it is opened)
    from lessonloop.accounts.service import issue_token
    from lessonloop.failures.models import Failure
    from lessonloop.people.models import Person
    from lessonloop.settings import Settings
    from lessonloop.store.engine import Database

    db = Database.open(Settings(database_url=target.url), migrate=False)
    try:
        with db.unit(actor="bench") as session:
            person = Person(handle="load-writer", name="Load Writer")
            session.add(person)
            session.flush()
            _token, plaintext = issue_token(session, person, "load")
            ids = list(session.scalars(select(Failure.id).order_by(Failure.id).limit(500)))
        return plaintext, ids
    finally:
        db.close()


def _first_chunk(target: Target, proc: subprocess.Popen[str], pattern: str) -> None:
    """Wait until the import has committed its first chunk (or ended): the load then runs while
    it writes, not while it starts up."""
    from sqlalchemy import create_engine, text

    engine = create_engine(target.url)
    try:
        with engine.connect() as conn:
            query = text("SELECT count(*) FROM failures WHERE external_id LIKE :p")
            while proc.poll() is None and not conn.execute(query, {"p": pattern}).scalar():
                conn.rollback()
                time.sleep(0.05)
    finally:
        engine.dispose()


def run_backend(backend: str, args: argparse.Namespace, workdir: Path) -> list[Level]:
    levels: list[Level] = []
    with fresh_target(backend, workdir, args.pg_url, 0) as target:
        log(f"{backend}: base workspace ({args.base_n} post-mortems)")
        base = generate.write_jsonl(workdir / "base.jsonl", args.base_n, seed=11)
        token, base_ids = _setup(target, base)
        queries = generate.queries(50)
        argv = [
            *SERVE_PY,
            *CLI[1:],
            "--database-url",
            target.url,
            "serve",
            "--no-worker",  # measure the server alone; the harness runs workers itself
            "--host",
            "127.0.0.1",
            "--port",
            "{port}",
        ]
        with Server(f"lessonloop-{backend}", argv, workdir, "/healthz") as srv:
            for connections in args.levels:
                level = Level(connections)
                path = generate.write_jsonl(
                    workdir / f"import-{connections}.jsonl", args.import_n, seed=100 + connections
                )
                log(
                    f"{backend}: {connections} connection(s) for {args.seconds:g} s, importing {args.import_n}"
                )
                started = time.perf_counter()
                proc = _import(target, path)
                _first_chunk(target, proc, f"synth-{100 + connections}-%")  # the import is writing
                asyncio.run(_drive(srv.port, token, base_ids, queries, level, args.seconds))
                level.import_ = _outcome(proc, started, time.perf_counter())
                levels.append(level)
                print(_row(backend, level), flush=True)
            if srv.crashes:
                raise RuntimeError(f"the server crashed: {srv.crashes}")
    return levels


HEADERS = ["backend", "conns", "requests", "rps", "errors", "p50 ms", "p95 ms", "p95 writes ms", "import"]


def _row(backend: str, level: Level) -> str:
    lat, writes = sorted(level.latencies), sorted(level.write_latencies)
    errors = ", ".join(f"{n}×{k}" for k, n in sorted(level.errors.items())) or "0"
    imp = level.import_
    what = f"{imp['outcome']} {imp.get('created', '')}".strip() + f" in {imp['seconds']} s"
    if imp.get("overlapped_load"):
        what += ", writing the whole load"
    if imp.get("error"):
        what += f": {imp['error']}"
    cells = [
        backend,
        str(level.connections),
        str(len(lat) + sum(level.statuses[k] for k in ("timeout", "connection"))),
        f"{len(lat) / level.seconds:.0f}" if level.seconds else "-",
        errors,
        f"{percentile(lat, 50):.0f}",
        f"{percentile(lat, 95):.0f}",
        f"{percentile(writes, 95):.0f}",
        what,
    ]
    return "| " + " | ".join(cells) + " |"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backends", default="sqlite,postgres", help="sqlite, postgres or both")
    ap.add_argument("--levels", default="1,8,32,64", help="connections per level (default 1,8,32,64)")
    ap.add_argument("--seconds", type=float, default=10.0, help="load per level (default 10)")
    ap.add_argument("--import-n", type=int, default=10_000, help="records imported during each level")
    ap.add_argument("--base-n", type=int, default=2_000, help="post-mortems in the base workspace")
    ap.add_argument(
        "--pg-url", default=DEFAULT_PG_URL, help="PostgreSQL server (a database is created on it)"
    )
    ap.add_argument("--workdir", type=Path, help="SQLite files and server logs (default: a temp dir)")
    args = ap.parse_args(argv)
    args.levels = [int(x) for x in args.levels.split(",")]
    failed = False
    with tempfile.TemporaryDirectory(prefix="lessonloop-load-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        print("| " + " | ".join(HEADERS) + " |\n|" + "---|" * len(HEADERS), flush=True)
        summary = []
        for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
            levels = run_backend(backend, args, workdir)
            failed |= any(level.errors or level.import_["outcome"] != "ok" for level in levels)
            first, last = levels[0], levels[-1]
            summary.append(
                f"{backend}: p95 {percentile(sorted(last.latencies), 95):.0f} ms at {last.connections} "
                f"connections, {percentile(sorted(first.latencies), 95):.0f} ms at {first.connections}; "
                f"errors {sum(sum(lv.errors.values()) for lv in levels)}, imports aborted "
                f"{sum(lv.import_['outcome'] != 'ok' for lv in levels)}"
            )
        print("\n".join(summary))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
