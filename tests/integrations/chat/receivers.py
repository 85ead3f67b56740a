"""Local stand-ins for the chat services apprise speaks to: threaded HTTP(S) servers on loopback
that record every request. Discord and Teams are HTTPS-only in apprise, so those stand-ins serve
TLS with a certificate from a throw-away CA made by the ``openssl`` command; the test trusts that
CA through ``REQUESTS_CA_BUNDLE`` (what ``requests`` reads), never by turning verification off."""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Stand:
    url: str = ""
    status: int = 200
    seen: list[Seen] = field(default_factory=list)


@dataclass(frozen=True)
class Certs:
    ca: Path
    cert: Path
    key: Path


def make_certs(folder: Path, *, names: tuple[str, ...], addresses: tuple[str, ...]) -> Certs:
    """A CA and a server certificate for ``names`` and ``addresses``, signed by it."""
    sans = ",".join([f"DNS:{n}" for n in names] + [f"IP:{a}" for a in addresses])

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=lessonloop test CA",
        "-keyout", "ca.key", "-out", "ca.pem", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=stand-in", "-keyout", "server.key",
        "-out", "server.csr")  # fmt: skip
    (folder / "ext.cnf").write_text(f"subjectAltName={sans}\nbasicConstraints=CA:FALSE\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-out", "server.pem", "-extfile", "ext.cnf")  # fmt: skip
    return Certs(folder / "ca.pem", folder / "server.pem", folder / "server.key")


@contextmanager
def stand_in(host: str = "127.0.0.1", port: int = 0, certs: Certs | None = None) -> Iterator[Stand]:
    """A server on ``host:port`` answering ``stand.status`` to every POST (HTTPS with ``certs``)."""
    stand = Stand()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            try:
                body: Any = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
            stand.seen.append(Seen(self.path, dict(self.headers.items()), body))
            self.send_response(stand.status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    scheme = "http"
    if certs is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certs.cert, certs.key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    stand.url = f"{scheme}://{host}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stand
    finally:
        server.shutdown()
        server.server_close()
