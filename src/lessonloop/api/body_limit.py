"""Refuse request bodies over the limits in :mod:`lessonloop.limits` with 413.

A pure ASGI middleware, so nothing is buffered before the check: a declared ``Content-Length``
over the limit is refused before a byte is read, and a body sent without one (chunked) is counted
as it arrives and refused as soon as it passes the limit. The API (``/api/...``) answers JSON
like its other errors; everything else (the web forms) answers plain text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException

from lessonloop import limits

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes the limit.

    An HTTPException, so a route that is reading the body (FastAPI, a form) turns it into the
    413 answer itself; the middleware answers it when it escapes before a response started.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=too_large_message(limit))


def too_large_message(limit: int) -> str:
    return f"request body too large: at most {limit} bytes"


#: A file upload to a failure (API and page): its body may hold a whole attachment.
UPLOAD_PATH = re.compile(r"^(?:/api/v\d+)?/failures/\d+/attachments/?$")


def too_large_upload_message(limit: int) -> str:
    mib = limits.ATTACHMENT_MAX_BYTES / (1024 * 1024)
    return f"file too large: an attachment may be at most {mib:g} MiB (the upload was over {limit} bytes)"


def body_limit_for(path: str, api_prefix: str) -> int:
    if UPLOAD_PATH.match(path):
        return limits.UPLOAD_BODY_MAX_BYTES
    return limits.JSON_BODY_MAX_BYTES if path.startswith(api_prefix) else limits.FORM_BODY_MAX_BYTES


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, api_prefix: str) -> None:
        self.app = app
        self.api_prefix = api_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_api = str(scope.get("path", "")).startswith(self.api_prefix)
        limit = body_limit_for(str(scope.get("path", "")), self.api_prefix)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, limit, is_api, upload=bool(UPLOAD_PATH.match(str(scope.get("path", "")))))
            return

        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if started:  # too late to answer; the connection is closed by the server
                raise
            await _refuse(send, limit, is_api, upload=bool(UPLOAD_PATH.match(str(scope.get("path", "")))))


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length itself
    return None


async def _refuse(send: Send, limit: int, is_api: bool, *, upload: bool = False) -> None:
    message = too_large_upload_message(limit) if upload else too_large_message(limit)
    if is_api:
        body = json.dumps({"detail": message, "field": None}).encode()
        media = b"application/json"
    else:
        body = message.encode()
        media = b"text/plain; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            # The rest of the body is never read: ask the client not to reuse the connection.
            "headers": [
                (b"content-type", media),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
