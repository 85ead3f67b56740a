"""A small JSON client for a lessonloop server's ``/api/v1``, authenticated by an API token.

Requests go through :func:`lessonloop.outbound.request` (httpx, one deadline for the whole
request, answers up to :data:`MAX_ANSWER` bytes). Unlike a webhook, the server address is the
user's own choice for their own token, so any address is fine and proxy variables are honoured.
Why refuse plain ``http://`` to other hosts: the token is a bearer credential, and anyone on the
path could replay it; on the loopback interface (a server on this machine) there is no path to
listen on.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lessonloop import outbound
from lessonloop.errors import Invalid, LessonloopError

API_PREFIX = "/api/v1"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
TIMEOUT_S = 30.0
MAX_ANSWER = 64 * 1024 * 1024  # a page of the largest list is far below this


class RemoteError(LessonloopError):
    """The server refused a request, or could not be reached."""

    status_code = 502

    def __init__(self, message: str, *, status: int | None = None, field: str | None = None) -> None:
        super().__init__(message, field=field or "server")
        self.status = status


@dataclass(frozen=True)
class Remote:
    server: str  # e.g. https://lessonloop.example.com (no trailing slash, no /api/v1)
    token: str


def normalise_server(url: str, *, allow_insecure: bool = False) -> str:
    """``https://host[:port]`` (or loopback ``http://``), without a trailing slash or ``/api/v1``."""
    raw = (url or "").strip().rstrip("/")
    if raw.endswith(API_PREFIX):
        raw = raw[: -len(API_PREFIX)]
    parts = urllib.parse.urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(f"{url!r} is not a server address like https://lessonloop.example.com", field="server")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK and not allow_insecure:
        raise Invalid(
            "refusing to send a token over plain http to another host; use https "
            "(or --insecure on a network you trust)",
            field="server",
        )
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


# --- the stored sign-in ------------------------------------------------------------------------


def config_path() -> Path:
    """``$LESSONLOOP_CONFIG_DIR/remote.json``, else ``$XDG_CONFIG_HOME/lessonloop/remote.json``."""
    base = os.environ.get("LESSONLOOP_CONFIG_DIR")
    if base:
        return Path(base) / "remote.json"
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(xdg) / "lessonloop" / "remote.json"


def save(remote: Remote) -> Path:
    """Write the sign-in readable by this user only (it holds a bearer token)."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"server": remote.server, "token": remote.token}, fh)
    os.replace(tmp, path)
    return path


def forget() -> bool:
    path = config_path()
    if path.exists():
        path.unlink()
        return True
    return False


def load() -> Remote:
    """``LESSONLOOP_SERVER`` + ``LESSONLOOP_TOKEN`` when set (scripts, CI), else the stored sign-in."""
    server, token = os.environ.get("LESSONLOOP_SERVER"), os.environ.get("LESSONLOOP_TOKEN")
    if server and token:
        return Remote(normalise_server(server, allow_insecure=True), token)
    path = config_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Remote(str(data["server"]), str(data["token"]))
    except FileNotFoundError:
        raise Invalid(
            "not signed in to a server: run 'lessonloop remote login --server URL' "
            "(or set LESSONLOOP_SERVER and LESSONLOOP_TOKEN)",
            field="server",
        ) from None
    except (ValueError, KeyError, TypeError):
        raise Invalid(
            f"{path} is not a lessonloop sign-in; run 'lessonloop remote login' again", field="server"
        ) from None


# --- requests ----------------------------------------------------------------------------------


def _message(status: int, body: bytes) -> tuple[str, str | None]:
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace").strip()[:200] or f"HTTP {status}", None
    if isinstance(data, dict):
        detail = data.get("detail")
        if isinstance(detail, list):  # FastAPI's validation errors
            parts = [f"{'.'.join(str(x) for x in d.get('loc', [])[1:])}: {d.get('msg')}" for d in detail]
            return "; ".join(parts), None
        return str(detail or data), data.get("field")
    return str(data), None


def request(
    remote: Remote,
    method: str,
    path: str,
    *,
    params: dict[str, Any] | None = None,
    body: Any = None,
    timeout: float = TIMEOUT_S,
) -> Any:
    """Send one request to ``/api/v1{path}``; the decoded JSON (or text) of a 2xx answer.

    Anything else raises :class:`RemoteError` with the server's own message.
    """
    query = urllib.parse.urlencode(
        [
            (k, v)
            for k, values in (params or {}).items()
            for v in (values if isinstance(values, list) else [values])
            if v is not None
        ]
    )
    url = f"{remote.server}{API_PREFIX}{path if path.startswith('/') else '/' + path}"
    if query:
        url += ("&" if "?" in url else "?") + query
    data = None if body is None else json.dumps(body).encode("utf-8")
    headers = {"Authorization": f"Bearer {remote.token}", "Accept": "application/json"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    try:
        answer = outbound.request(
            method.upper(),
            url,
            timeout=timeout,
            headers=headers,
            content=data,
            max_body=MAX_ANSWER,
            trust_env=True,
        )
    except outbound.OutboundError as exc:
        raise RemoteError(f"cannot reach {remote.server} ({exc})") from None
    raw = answer.body
    if not 200 <= answer.status < 300:
        message, field = _message(answer.status, raw)
        if answer.status == 401:
            message = f"{message} (the token was refused: run 'lessonloop remote login' with a new one)"
        raise RemoteError(f"{answer.status} {message}", status=answer.status, field=field)
    if not raw:
        return None
    if "json" in answer.headers.get("content-type", ""):
        return json.loads(raw)
    return raw.decode("utf-8", "replace")
