"""Local receivers started by the tests: an SMTP server (aiosmtpd) and a webhook endpoint
(http.server in a thread), both on 127.0.0.1 and an ephemeral port."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

# The receivers listen on loopback, which webhooks may not reach unless an operator allows it:
# tests that send to them say so (set_preferences(allow_hosts=LOCAL), WorkerConfig(...=LOCAL)).
LOCAL = ("127.0.0.1",)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _SmtpHandler:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


@contextmanager
def smtp_server() -> Iterator[tuple[int, _SmtpHandler]]:
    handler = _SmtpHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, handler
    finally:
        controller.stop()


@dataclass
class Webhook:
    """What the endpoint saw. ``fail_first`` requests answer 500; with ``hold_after`` set, the
    request after that many acknowledged ones blocks (never answered) until ``release``."""

    url: str = ""
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (key, json)
    acknowledged: list[str] = field(default_factory=list)  # keys answered 200
    hosts: list[str] = field(default_factory=list)  # the Host header of each request
    fail_first: int = 0
    hold_after: int | None = None
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def webhook_server() -> Iterator[Webhook]:
    hook = Webhook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            key = self.headers.get("Idempotency-Key", "")
            with hook.lock:
                hook.requests.append((key, body))
                hook.hosts.append(self.headers.get("Host", ""))
                hold = hook.hold_after is not None and len(hook.acknowledged) >= hook.hold_after
                fail = len(hook.requests) <= hook.fail_first
            if hold and not hook.release.is_set():
                hook.holding.set()
                hook.release.wait(30)
                return  # the sender is gone by now; answer nothing
            if fail:
                self.send_response(500)
                self.end_headers()
                return
            with hook.lock:
                hook.acknowledged.append(key)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        hook.release.set()
        server.shutdown()
        server.server_close()
