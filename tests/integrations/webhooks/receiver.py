"""A local event-webhook receiver on 127.0.0.1 that checks each delivery's signature the way the
documentation tells a receiver to (docs/integrations.md), with the endpoint's secret."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """``fail_first`` requests answer 503; the rest 204. ``accepted``: the ones answered 2xx."""

    url: str = ""
    fail_first: int = 0
    requests: list[Received] = field(default_factory=list)
    accepted: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def verified(self, secret: str, received: Received) -> bool:
        """The receiver's check, written out here as a receiver would (not the app's helper)."""
        timestamp = received.headers["X-Lessonloop-Timestamp"]
        expected = hmac.new(secret.encode(), timestamp.encode() + b"." + received.body, hashlib.sha256)
        return hmac.compare_digest("v1=" + expected.hexdigest(), received.headers["X-Lessonloop-Signature"])


@contextmanager
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            got = Received(dict(self.headers.items()), body)
            with state.lock:
                state.requests.append(got)
                fail = len(state.requests) <= state.fail_first
                if not fail:
                    state.accepted.append(got)
            self.send_response(503 if fail else 204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/events"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
