"""A small, bounded HTTP/1.1 load generator (asyncio, raw sockets, keep-alive).

It exists so the benchmark needs nothing but Python on a fresh machine. It is deliberately
cheap per request (no HTTP library on the hot path: one ``write`` and a header/body read per
request) so that on a 2-core machine most of the CPU goes to the server being measured.

    .venv/bin/python bench/load.py --port 8000 --path '/api/v1/failures?page=1&page_size=50' \
        --seconds 10 --concurrency 8

Prints one JSON object: requests, errors, seconds, rps, latency percentiles (ms) and bytes.
Several ``--path`` values are requested round-robin (each connection starts at its own offset);
``--header 'Authorization: Bearer ll_…'`` adds a header to every request. Several ``--port``
values spread the connections over several servers (connection n goes to the n-th port, round
robin), as a proxy in front of them would (``bench/scale.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Sequence
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of ``values`` (``q`` in 0..100), in any order.

    It sorts for itself: it once took an ascending list on trust, and bench/pages.py handed it
    times in fetch order, so its "p95" was the last fetch (found in issue #13's round 3)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, int]:
    """Read one response; returns (status, body bytes)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = None
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        lname = name.strip().lower()
        if lname == b"content-length":
            length = int(value.strip())
        elif lname == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        total = 0
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            await reader.readexactly(size + 2)
            total += size
        return status, total
    if length is None:
        raise RuntimeError("response without Content-Length (connection-close bodies are not supported)")
    if length:
        await reader.readexactly(length)
    return status, length


async def _worker(
    host: str,
    port: int,
    requests: list[bytes],
    start_index: int,
    deadline: float,
    latencies: list[float],
    counters: dict[str, int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = start_index
    try:
        while True:
            t0 = time.perf_counter()
            if t0 >= deadline:
                break
            writer.write(requests[i % len(requests)])
            i += 1
            try:
                status, size = await _read_response(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                counters["errors"] += 1
                writer.close()
                try:
                    reader, writer = await asyncio.open_connection(host, port)
                except OSError:  # the server is gone: stop this connection, report the errors
                    counters["errors"] += 1
                    return
                continue
            latencies.append(time.perf_counter() - t0)
            counters["bytes"] += size
            if status >= 400:
                counters["errors"] += 1
    finally:
        writer.close()


async def run_load(
    host: str,
    port: int | Sequence[int],
    paths: list[str],
    seconds: float,
    concurrency: int,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    ports = [port] if isinstance(port, int) else list(port)
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    requests = [
        f"GET {p} HTTP/1.1\r\nHost: {host}:{ports[0]}\r\nAccept: application/json\r\n{extra}\r\n".encode(
            "latin-1"
        )
        for p in paths
    ]
    latencies: list[float] = []
    counters = {"errors": 0, "bytes": 0}
    started = time.perf_counter()
    deadline = started + seconds
    stride = max(1, len(requests) // max(1, concurrency))
    await asyncio.gather(
        *(
            _worker(host, ports[n % len(ports)], requests, n * stride, deadline, latencies, counters)
            for n in range(concurrency)
        )
    )
    elapsed = time.perf_counter() - started
    lat = sorted(x * 1000 for x in latencies)
    return {
        "requests": len(lat),
        "errors": counters["errors"],
        "seconds": round(elapsed, 3),
        "concurrency": concurrency,
        "rps": round(len(lat) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(percentile(lat, 50), 2),
        "p95_ms": round(percentile(lat, 95), 2),
        "p99_ms": round(percentile(lat, 99), 2),
        "max_ms": round(lat[-1], 2) if lat else float("nan"),
        "mean_bytes": round(counters["bytes"] / len(lat)) if lat else 0,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Bounded HTTP/1.1 keep-alive load generator.")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument(
        "--port", type=int, action="append", required=True, help="server port (repeatable: round robin)"
    )
    ap.add_argument("--path", action="append", required=True, help="request path (repeatable)")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--header", action="append", default=[], help="'Name: value' sent with every request")
    args = ap.parse_args(argv)
    headers = dict(h.split(":", 1) for h in args.header)
    headers = {k.strip(): v.strip() for k, v in headers.items()}
    result = asyncio.run(run_load(args.host, args.port, args.path, args.seconds, args.concurrency, headers))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
