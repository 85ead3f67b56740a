"""CPU per page request, in-process: the figure a loaded machine does not inflate much.

    .venv/bin/python bench/pages_cpu.py bench/out/bench-100000.db
    PYTHONPATH=/tmp/before/src .venv/bin/python bench/pages_cpu.py bench/out/bench-100000.db

``bench/pages.py`` times pages over HTTP, so on a machine shared with other work its times are
mostly waiting for a core. This signs the same two people in (``bench/pages.py`` must have given
them their password) and serves the heaviest pages through the app in this process
(``TestClient``), reporting for each the median **process CPU time** per request — the app and,
on SQLite, the database engine, which runs in the process too — beside the wall time. Run it with
``PYTHONPATH`` pointing at another tree's ``src`` (``git archive HEAD src | tar -x -C DIR``) to
compare two versions of the code on the same database in the same minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from pages import ADMIN, MEMBER, PASSWORD  # noqa: E402

PAGES = {
    "dashboard": "/",
    "actions board": "/actions",
    "insights": "/insights",
    "team": "/teams/22",
    "coaching": "/coaching",
    "lessons": "/lessons",
    "experiments": "/experiments",
    "failures filtered": "/failures?status=observed",
    "accounts (admin)": "/admin/accounts",
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("database", help="a bench SQLite file, or a PostgreSQL URL")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--json", type=Path, help="where to keep the figures")
    args = ap.parse_args(argv)
    url = args.database if "://" in args.database else f"sqlite:///{args.database}"
    os.environ["LESSONLOOP_API_CACHE"] = "0"

    from starlette.testclient import TestClient

    import lessonloop.bootstrap  # noqa: F401  (wires storage before it is opened)
    from lessonloop.app import create_app
    from lessonloop.settings import Settings

    app = create_app(Settings(database_url=url))
    figures: dict[str, dict[str, float]] = {}
    for handle in (MEMBER, ADMIN):
        client = TestClient(app, base_url="http://127.0.0.1")
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        assert token is not None, "no sign-in form"
        data = {"handle": handle, "password": PASSWORD, "csrf_token": token.group(1), "next": "/"}
        if client.post("/login", data=data, follow_redirects=False).status_code not in (302, 303):
            raise SystemExit(f"{handle} could not sign in: run bench/pages.py on this database first")
        for name, path in PAGES.items():
            if name == "accounts (admin)" and handle != ADMIN:
                continue
            client.get(path)  # warm-up
            cpu, wall = [], []
            for _ in range(args.reps):
                c0, w0 = time.process_time(), time.perf_counter()
                status = client.get(path).status_code
                cpu.append((time.process_time() - c0) * 1000)
                wall.append((time.perf_counter() - w0) * 1000)
            row = {"status": status, "cpu_ms": statistics.median(cpu), "wall_ms": statistics.median(wall)}
            figures[f"{name} | {handle}"] = row
            print(
                f"{name:18} {handle:9} {status}  cpu {row['cpu_ms']:7.1f} ms  wall {row['wall_ms']:7.1f} ms"
            )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
