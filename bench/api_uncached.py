"""The uncached list against the bare endpoint on databases that already hold a workspace.

``bench/run.py`` builds a fresh workspace each run (15 minutes at 100k); this takes kept ones
(``bench/run.py --keep-sqlite --workdir DIR`` or ``--keep-pg``, or a copy of them) and times,
with the same helpers and load as run.py's API phase (8 connections, the same 64 list paths as
the member ``user0100``, ``LESSONLOOP_API_CACHE=0``), the list and the bare app in turn,
``--rounds`` times, so that the ratio is taken in the same minutes on a busy machine:

    .venv/bin/python bench/api_uncached.py --url sqlite:////tmp/bench-100000.db --rounds 3
    # and the code before a change, served from an exported tree on its own copy of the database:
    git archive <commit> src | tar -x -C /tmp/before
    .venv/bin/python bench/api_uncached.py --url sqlite:////tmp/after.db \\
        --before-url sqlite:////tmp/before.db --before-src /tmp/before/src --rounds 3

Each server issues itself an API token first (a write), so never point it at a database others
read as a reference. Prints one JSON line per phase, then the ratios per round.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run as bench  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True, help="database of the code in this checkout")
    ap.add_argument("--before-url", help="database for the code of --before-src (a copy of its own)")
    ap.add_argument("--before-src", type=Path, help="a src/ directory holding the code before a change")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=6.0, help="load per phase (after a 2 s warm-up)")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/lessonloop-api-uncached"))
    args = ap.parse_args(argv)
    if (args.before_url is None) != (args.before_src is None):
        ap.error("--before-url and --before-src go together")
    args.workdir.mkdir(parents=True, exist_ok=True)
    urls = {"after": args.url} | ({"before": args.before_url} if args.before_url else {})
    backend = "sqlite" if args.url.startswith("sqlite") else "postgres"
    tokens = {name: bench.api_token(bench.Target(backend, url)) for name, url in urls.items()}
    paths = bench.list_paths(bench.generate.DEFAULT_SEED, 100_000)
    rows: list[dict[str, Any]] = []
    for round_ in range(args.rounds):
        for name in [*sorted(urls, reverse=True), "bare"]:  # before, after, bare
            headers: dict[str, str] | None = None
            env: dict[str, str] = {}
            if name == "bare":
                argv_ = [
                    *bench.SERVE_PY,
                    str(HERE / "bare_app.py"),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "{port}",
                ]
                phase_paths = ["/bare"]
            else:
                argv_ = [
                    *bench.SERVE_PY,
                    *bench.CLI[1:],
                    "--database-url",
                    urls[name],
                    "serve",
                    "--no-worker",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "{port}",
                ]
                env["LESSONLOOP_API_CACHE"] = "0"
                if name == "before":
                    env["PYTHONPATH"] = str(args.before_src)
                phase_paths, headers = paths, {"Authorization": f"Bearer {tokens[name]}"}
            with bench.Server(f"{name}-{round_}", argv_, args.workdir, "/healthz", env=env) as srv:
                bench.drive(srv, phase_paths, 2.0, args.concurrency, "warm-up", headers=headers)
                result = bench.drive(srv, phase_paths, args.seconds, args.concurrency, name, headers=headers)
            row = {
                "round": round_,
                "name": name,
                "rps": result["rps"],
                "p50_ms": result.get("p50_ms"),
                "p95_ms": result.get("p95_ms"),
                "rps_per_server_cpu_s": result.get("rps_per_server_cpu_s"),
                "errors": result.get("errors"),
                "loadavg": result.get("loadavg"),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    for round_ in range(args.rounds):
        got = {r["name"]: r["rps"] for r in rows if r["round"] == round_}
        ratios = {name: round(got[name] / got["bare"], 3) for name in urls if got.get("bare")}
        print(f"round {round_}: uncached/bare {ratios} (target >= {bench.TARGETS['api_uncached_vs_bare']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
