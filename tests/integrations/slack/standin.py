"""A local stand-in of the Slack Web API on 127.0.0.1: records every call, answers like Slack.

slack_sdk is pointed at it with ``base_url`` (``LESSONLOOP_SLACK_API_URL``); it speaks the same
HTTP: ``POST /api/<method>`` with a form or a JSON body and a bearer token, answering JSON with
``ok``. ``users`` maps e-mail addresses to Slack user ids for ``users.lookupByEmail``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str


@dataclass
class SlackStandIn:
    users: dict[str, str] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    fail_methods: set[str] = field(default_factory=set)
    url: str = ""  # the API's base_url once started
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def called(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method in self.fail_methods:
            return {"ok": False, "error": "channel_not_found"}
        if method == "auth.test":
            return {
                "ok": True,
                "user_id": "UBOT",
                "team_id": "T1",
                "bot_id": "B1",
                "url": "https://t1.slack.com/",
            }
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(args.get("users", "")).lstrip("UW")}}
        if method == "users.lookupByEmail":
            user = self.users.get(str(args.get("email", "")).lower())
            return {"ok": True, "user": {"id": user}} if user else {"ok": False, "error": "users_not_found"}
        if method in ("chat.postMessage", "chat.update"):
            return {"ok": True, "channel": args.get("channel"), "ts": f"{len(self.calls)}.0001"}
        if method == "views.open":
            return {"ok": True, "view": {"id": "V1"}}
        return {"ok": True}

    def start(self) -> ThreadingHTTPServer:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                if "json" in (self.headers.get("Content-Type") or ""):
                    args = json.loads(raw or "{}")
                else:
                    args = dict(parse_qsl(raw))
                for key in ("blocks", "view"):  # sent as JSON text inside a form
                    if isinstance(args.get(key), str):
                        args[key] = json.loads(args[key])
                method = self.path.rsplit("/", 1)[-1]
                token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                with standin._lock:
                    standin.calls.append(Call(method, args, token))
                body = json.dumps(standin.answer(method, args)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{server.server_address[1]}/api/"
        return server
