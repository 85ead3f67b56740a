"""The baseline for the API benchmark: a trivial FastAPI app, served exactly like ``lessonloop serve``.

It goes through the same :func:`lessonloop.cli.serve_cmds.run_server` (same uvicorn settings,
same access log) so the only difference with the product is the work its endpoint does.

* ``GET /bare``: a plain ``def`` endpoint (run in the thread pool, like every lessonloop route)
  returning a small JSON object: the primary baseline;
* ``GET /bare-async``: the same from an ``async def`` endpoint (no thread hop), for reference;
* ``GET /healthz``: readiness.

    .venv/bin/python bench/bare_app.py --port 8001
"""

from __future__ import annotations

import argparse

from fastapi import FastAPI

PAYLOAD = {"ok": True, "items": [{"id": i, "title": f"item {i}"} for i in range(3)], "total": 3}


def create_bare_app() -> FastAPI:
    app = FastAPI(title="bare")

    @app.get("/bare")
    def bare() -> dict[str, object]:
        return PAYLOAD

    @app.get("/bare-async")
    async def bare_async() -> dict[str, object]:
        return PAYLOAD

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    args = ap.parse_args()
    from lessonloop.cli.serve_cmds import run_server

    run_server(create_bare_app(), args.host, args.port, lambda: print("bare app ready", flush=True))


if __name__ == "__main__":
    main()
