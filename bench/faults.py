"""Delivery fault harness (issue #17): live workers, slow/hanging/trickling/failing receivers,
kill -9 loops and SIGTERM, on SQLite and PostgreSQL.

    .venv/bin/python bench/faults.py                 # both backends (PostgreSQL if reachable)
    .venv/bin/python bench/faults.py --backend sqlite --scenario kill9
    make faults

A local HTTP receiver on 127.0.0.1 records every ``Idempotency-Key`` it sees and which ones it
answered 2xx; real ``lessonloop worker`` processes deliver. Per scenario it prints: created,
sent once, sent twice (or more), dead, never sent (neither sent nor dead: lost), and the kills.
Targets (docs/reliability.md): 0 lost; 0 sent twice while workers live; at most one per hard
kill; no never-sent delivery dead; a hanging receiver delays the others by at most one deadline.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select, text

import lessonloop.bootstrap  # noqa: F401  (wires the layers into storage)
from lessonloop.access.actor import SystemActor
from lessonloop.notifications import service as outbox
from lessonloop.notifications.models import Delivery
from lessonloop.people.service import add_person
from lessonloop.settings import Settings
from lessonloop.store.engine import Database

PG_ADMIN = os.environ.get("LESSONLOOP_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SYSTEM = SystemActor("faults")
DEADLINE = 2  # LESSONLOOP_WEBHOOK_TIMEOUT for the workers: one whole request
ENV = {
    "LESSONLOOP_WEBHOOK_ALLOW_HOSTS": "127.0.0.1",  # the receiver is on loopback
    "LESSONLOOP_WEBHOOK_TIMEOUT": str(DEADLINE),
    "LESSONLOOP_LEASE_SECONDS": "6",  # 3 requests' deadline; far shorter than a batch of slow ones
    "LESSONLOOP_RETRY_BASE_SECONDS": "1",
    "LESSONLOOP_MAX_ATTEMPTS": "3",
    "LESSONLOOP_WORKER_SENDERS": "4",
    "LESSONLOOP_WORKER_BATCH": "50",
    "LESSONLOOP_WORKER_SHUTDOWN_SECONDS": "10",
    "LESSONLOOP_WORKER_JOB_MODULES": "",
}


# --- the receiver -----------------------------------------------------------------------------


@dataclass
class Receiver:
    url: str = ""
    seen: Counter[str] = field(default_factory=Counter)  # every request, by key
    acked: Counter[str] = field(default_factory=Counter)  # answered 2xx, by key
    acked_at: dict[str, float] = field(default_factory=dict)
    first_seen: float | None = None
    times: dict[str, list[float]] = field(default_factory=dict)  # when each request came, by key
    lock: threading.Lock = field(default_factory=threading.Lock)
    closing: threading.Event = field(default_factory=threading.Event)


@contextmanager
def receiver() -> Iterator[Receiver]:
    """Paths choose the behaviour: /ok, /slow (0.3 s), /hang (never answers), /trickle (a byte
    every 0.5 s, 20 bytes), /fail (500 to the first two requests of each key)."""
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            key = self.headers.get("Idempotency-Key", "")
            with rec.lock:
                rec.seen[key] += 1
                tries = rec.seen[key]
                rec.first_seen = rec.first_seen or time.monotonic()
                rec.times.setdefault(key, []).append(time.monotonic())
            mode = self.path.strip("/")
            if mode == "hang":
                rec.closing.wait(60)
                return
            if mode == "trickle":
                for ch in b"HTTP/1.0 200 OK\r\n\r\n":
                    if rec.closing.wait(0.5):
                        return
                    try:
                        self.wfile.write(bytes([ch]))
                        self.wfile.flush()
                    except OSError:  # the worker gave up at its deadline
                        return
                return  # never complete within the deadline: not acknowledged
            if mode == "slow":
                time.sleep(0.3)
            if mode == "fail" and tries <= 2:
                self.send_response(500)
                self.end_headers()
                return
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")
            with rec.lock:
                rec.acked[key] += 1
                rec.acked_at.setdefault(key, time.monotonic())

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    rec.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield rec
    finally:
        rec.closing.set()
        server.shutdown()
        server.server_close()


# --- databases and workers --------------------------------------------------------------------


@contextmanager
def database(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'faults.db'}"
        return
    name = f"lessonloop_faults_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def seed(db: Database, rec: Receiver, paths: list[str], per_path: int) -> list[str]:
    """One person per receiver path, ``per_path`` notifications each; returns the keys."""
    keys: list[str] = []
    with db.unit() as s:
        for p in paths:
            person = add_person(s, name=f"P {p}", handle=f"p-{p}", viewer=SYSTEM)
            outbox.set_preferences(
                s,
                person.id,
                channels=["webhook"],
                webhook_url=f"{rec.url}/{p}",
                allow_hosts=["127.0.0.1"],
                viewer=SYSTEM,
            )
            for i in range(per_path):
                key = f"{p}:{i}"
                outbox.enqueue(
                    s,
                    person_id=person.id,
                    kind="fault",
                    subject=key,
                    body_text="b",
                    dedupe_key=key,
                    viewer=SYSTEM,
                )
                keys.append(f"{key}#webhook")
    return keys


def worker(url: str) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-c", "from lessonloop.cli.main import main; main()", "--database-url", url]
    cmd += ["worker", "--interval", "0.2", "--quiet", "--job", "none"]
    return subprocess.Popen(
        cmd, env={**os.environ, **ENV}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def settled(db: Database) -> bool:
    with db.unit() as s:
        return not s.scalars(select(Delivery.id).where(Delivery.status.in_(["pending", "sending"]))).first()


def wait_settled(db: Database, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end and not settled(db):
        time.sleep(0.3)


# --- scenarios --------------------------------------------------------------------------------


@dataclass
class Result:
    scenario: str
    created: int
    once: int
    twice: int
    dead: int
    never: int
    dead_unsent: int
    kills: int = 0
    note: str = ""


def tally(name: str, db: Database, rec: Receiver, keys: list[str], kills: int = 0, note: str = "") -> Result:
    with db.unit() as s:
        rows = s.scalars(select(Delivery)).all()
        status = {d.idempotency_key: d.status for d in rows}
    dead = [k for k in keys if status.get(k) == "dead"]
    twice = [k for k in keys if rec.acked[k] >= 2]
    if twice:  # for the reader: how far apart the repeats came (a retry waits for its backoff)
        gaps = ", ".join(
            f"{k}: {', '.join(f'{t - rec.times[k][0]:.2f}s' for t in rec.times[k])}" for k in twice
        )
        note = f"{note} repeats at {gaps}".strip()
    return Result(
        scenario=name,
        created=len(keys),
        once=sum(1 for k in keys if rec.acked[k] == 1),
        twice=sum(1 for k in keys if rec.acked[k] >= 2),
        dead=len(dead),
        never=sum(1 for k in keys if rec.acked[k] == 0 and status.get(k) != "dead"),
        dead_unsent=sum(1 for k in dead if rec.seen[k] == 0),
        kills=kills,
        note=note,
    )


def live_slow(url: str, db: Database, rec: Receiver) -> Result:
    """Three live workers, receivers slower than lease / batch: the old duplicate maker."""
    keys = seed(db, rec, ["slow"], 60)
    procs = [worker(url) for _ in range(3)]
    try:
        wait_settled(db, 90)
    finally:
        stop_all(procs)
    return tally("3 live workers, slow receiver", db, rec, keys)


def _good_delay(rec: Receiver, keys: list[str]) -> str:
    """The longest the good receiver went without an acknowledged send, from the first request
    on: a hanging receiver holding every sender would show as a pause of one whole deadline."""
    times = sorted(rec.acked_at[k] for k in keys if k.startswith("ok:") and k in rec.acked_at)
    marks = [rec.first_seen or 0.0, *times]
    pause = max((b - a for a, b in itertools.pairwise(marks)), default=float("nan"))
    return f"good sends: longest pause {pause:.2f}s (deadline {DEADLINE}s)"


def hanging(url: str, db: Database, rec: Receiver) -> Result:
    """One hanging receiver whose 4 deliveries come first in the queue, 24 good ones behind
    them, one worker: the good ones wait at most one request deadline."""
    keys = seed(db, rec, ["hang"], 4) + seed(db, rec, ["ok"], 24)
    procs = [worker(url)]
    try:
        wait_settled(db, 120)
    finally:
        stop_all(procs)
    return tally("1 hanging receiver first in line", db, rec, keys, note=_good_delay(rec, keys))


def mixed(url: str, db: Database, rec: Receiver) -> Result:
    """Hanging, trickling and failing receivers (first in the queue) beside good ones."""
    keys = seed(db, rec, ["hang", "trickle", "fail", "ok"], 6)
    procs = [worker(url) for _ in range(2)]
    try:
        wait_settled(db, 120)
    finally:
        stop_all(procs)
    return tally("hang/trickle/fail + good receivers", db, rec, keys, note=_good_delay(rec, keys))


def kill9(url: str, db: Database, rec: Receiver) -> Result:
    """Two workers, each SIGKILLed at a random moment (before, during, after a send, between
    send and record) and restarted, for 12 s; then one clean worker finishes."""
    keys = seed(db, rec, ["slow"], 80)
    rng = random.Random(17)
    procs = [worker(url) for _ in range(2)]
    kills = 0
    end = time.monotonic() + 10
    try:
        while time.monotonic() < end:
            time.sleep(rng.uniform(0.3, 1.2))
            i = rng.randrange(len(procs))
            procs[i].send_signal(signal.SIGKILL)
            procs[i].wait()
            kills += 1
            procs[i] = worker(url)
        stop_all(procs)
        procs = [worker(url)]
        wait_settled(db, 90)
    finally:
        stop_all(procs)
    return tally("kill -9 loop, 2 workers", db, rec, keys, kills=kills)


def sigterm(url: str, db: Database, rec: Receiver) -> Result:
    """SIGTERM mid-batch: in-flight sends finish, unsent claims go back, exit code 0."""
    keys = seed(db, rec, ["slow"], 40)
    proc = worker(url)
    while sum(rec.acked.values()) < 5:  # mid-batch: it has started sending
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(30)
    with db.unit() as s:
        held = len(s.scalars(select(Delivery.id).where(Delivery.status == "sending")).all())
    procs = [worker(url)]
    try:
        wait_settled(db, 90)
    finally:
        stop_all(procs)
    return tally("SIGTERM mid-batch", db, rec, keys, note=f"exit code {code}, {held} left leased")


def dbcut(url: str, db: Database, rec: Receiver) -> Result:
    """The database cut while workers send and record: on PostgreSQL every worker connection is
    terminated (pg_terminate_backend) about every 0.7 s for 8 s; on SQLite, which has no server to
    cut, another connection holds the write lock for 1.5 s of every 2 s. Outcomes must still be
    recorded once each (the recorder retries through the outage while its lease lasts)."""
    keys = seed(db, rec, ["slow"], 60)
    procs = [worker(url) for _ in range(2)]
    cuts = 0
    end = time.monotonic() + 8
    cutter = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with cutter.connect() as conn:
            while time.monotonic() < end:
                if url.startswith("sqlite"):
                    conn.exec_driver_sql("BEGIN EXCLUSIVE")
                    time.sleep(1.5)
                    conn.exec_driver_sql("COMMIT")
                    time.sleep(0.5)
                else:
                    time.sleep(0.7)
                    conn.execute(
                        text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                        )
                    )
                cuts += 1
        wait_settled(db, 120)
    finally:
        cutter.dispose()
        stop_all(procs)
    what = "write lock held" if url.startswith("sqlite") else "connections cut"
    return tally("database cut while recording, 2 workers", db, rec, keys, note=f"{cuts} times {what}")


def stop_all(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


SCENARIOS = {
    "live": live_slow,
    "hanging": hanging,
    "mixed": mixed,
    "kill9": kill9,
    "dbcut": dbcut,
    "sigterm": sigterm,
}


def pg_reachable() -> bool:
    try:
        engine = create_engine(PG_ADMIN)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), action="append")
    args = parser.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    if "postgres" in backends and not pg_reachable():
        print("PostgreSQL unreachable: skipped")
        backends.remove("postgres")
    failed = False
    header = f"{'backend':9} {'scenario':36} {'created':>7} {'once':>5} {'twice':>5} {'dead':>5} {'never':>5} {'kills':>5}"
    print(header)
    for backend in backends:
        for name in args.scenario or list(SCENARIOS):
            began = time.monotonic()
            with database(backend) as url, receiver() as rec:
                db = Database.open(Settings(database_url=url))
                try:
                    r = SCENARIOS[name](url, db, rec)
                finally:
                    db.close()
            print(
                f"{backend:9} {r.scenario:36} {r.created:7} {r.once:5} {r.twice:5} {r.dead:5} "
                f"{r.never:5} {r.kills:5}  {time.monotonic() - began:4.0f}s  {r.note}",
                flush=True,
            )
            bad = r.never > 0 or r.dead_unsent > 0 or r.twice > r.kills
            if bad:
                print(f"  ^ target missed (never sent {r.never}, dead unsent {r.dead_unsent})")
            failed = failed or bad
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
