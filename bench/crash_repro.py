"""Reproduce the ``lessonloop serve`` segfault under concurrent load, without a web server.

Each API request's unit of work is opened, used and closed on *different* thread-pool threads
(FastAPI runs the sync ``db_session`` generator dependency and the sync endpoint as separate
thread-pool calls). This script does the same with a plain ``ThreadPoolExecutor``: 8 "requests"
at a time, each opening a session on one pool thread, listing a page of failures on another and
closing it on a third. ``--mode same`` does all three on one thread, for comparison.

    .venv/bin/python bench/crash_repro.py sqlite:////path/to/bench-10000.db --seconds 20
    .venv/bin/python bench/crash_repro.py sqlite:////path/to/bench-10000.db --mode same

Exit status 139 (SIGSEGV) with a faulthandler traceback means it reproduced. The database must
hold a workspace (``bench/run.py --workdir DIR --keep-sqlite --sizes 10000 --backends sqlite``).
"""

from __future__ import annotations

import argparse
import faulthandler
import platform
import threading
import time
from concurrent.futures import ThreadPoolExecutor


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("url")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--threads", type=int, default=8, help="concurrent requests")
    ap.add_argument("--mode", choices=["hop", "same"], default="hop")
    args = ap.parse_args()
    faulthandler.enable()

    import lessonloop.bootstrap  # noqa: F401  (wires storage before it is opened)
    from lessonloop.failures import service
    from lessonloop.settings import Settings
    from lessonloop.store.engine import Database

    db = Database.open(Settings(database_url=args.url), migrate=False)
    pool = ThreadPoolExecutor(40)  # anyio's default thread-pool size
    stop = time.monotonic() + args.seconds
    done = [0]

    def touch(session: object) -> None:
        from lessonloop.access.actor import SystemActor

        page = service.list_failures(session, page=1, page_size=50, viewer=SystemActor("bench"))  # type: ignore[arg-type]
        for f in page.items:
            (f.title, [p.name for p in f.people], f.labels)

    def whole() -> None:
        session = db.sessions()
        touch(session)
        session.close()

    def request_loop() -> None:
        while time.monotonic() < stop:
            if args.mode == "hop":
                session = pool.submit(db.sessions).result()
                pool.submit(touch, session).result()
                pool.submit(session.close).result()
            else:
                pool.submit(whole).result()
            done[0] += 1

    print(
        f"python {platform.python_version()}, mode {args.mode}, {args.threads} concurrent requests",
        flush=True,
    )
    threads = [threading.Thread(target=request_loop) for _ in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"no crash: {done[0]} requests in {args.seconds:g} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
