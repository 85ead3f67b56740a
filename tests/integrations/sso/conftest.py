"""A real OpenID provider and the real server, both on 127.0.0.1, for the single sign-on tests.

The provider is panva's ``oidc-provider`` from the npm registry (``provider/``: a small script, its
``package.json`` and lock file), run with the machine's Node.js as a subprocess on a free port and
stopped after each test. ``make test`` installs it (``npm ci``) when it is missing. Without Node.js
or the installed package the tests skip locally and **fail under** ``CI=true`` (as the browser test
does without Chromium).

The app runs in uvicorn on another free port with single sign-on pointed at that provider, so the
redirects between the two are real HTTP; :func:`sign_in_at_provider` walks them as a browser would,
through the provider's own login and consent pages.
"""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from lessonloop.accounts import crypto
from lessonloop.app import create_app
from lessonloop.store.engine import Database
from tests.web.conftest import CHEAP
from tests.web.test_browser import _free_port

PROVIDER_DIR = Path(__file__).resolve().parent / "provider"
CLIENT_ID = "lessonloop-test"
CLIENT_SECRET = "a-test-client-secret-of-some-length"
CALLBACK = "/login/sso/callback"
_FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')

#: The provider's people: the login typed on its page → the claims it vouches for.
ACCOUNTS: dict[str, dict[str, Any]] = {
    "ana": {"email": "ana@example.com", "email_verified": True, "name": "Ana Lead"},
    "ben": {"email": "ben@example.com", "email_verified": True, "name": "Ben Member"},
    "mallory": {"email": "cara@example.com", "email_verified": False, "name": "Not Cara"},
    "newbie": {"email": "newbie@example.com", "email_verified": True, "name": "New Person"},
}


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"the single sign-on tests need {reason} under CI=true")
    pytest.skip(f"single sign-on test skipped: {reason}")


@dataclass
class LocalProvider:
    issuer: str
    accounts_file: Path
    process: subprocess.Popen[str]

    def set_account(self, login: str, **claims: Any) -> None:
        """Change what the provider says about ``login`` (read at its next sign-in)."""
        accounts = json.loads(self.accounts_file.read_text())
        accounts[login] = claims
        self.accounts_file.write_text(json.dumps(accounts))


@contextmanager
def run_provider(tmp_path: Path, redirect_uri: str) -> Iterator[LocalProvider]:
    node = shutil.which("node")
    if node is None:
        _unavailable("Node.js (apt-get install -y nodejs)")
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        _unavailable(
            "the local OpenID provider (npm ci --prefix tests/integrations/sso/provider; make test does it)"
        )
    accounts = tmp_path / "accounts.json"
    accounts.write_text(json.dumps(ACCOUNTS))
    port = _free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PORT": str(port),
        "CLIENT_ID": CLIENT_ID,
        "CLIENT_SECRET": CLIENT_SECRET,
        "REDIRECT_URIS": redirect_uri,
        "ACCOUNTS_FILE": str(accounts),
    }
    process = subprocess.Popen(
        [str(node), "provider.mjs"],
        cwd=PROVIDER_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    output: list[str] = []

    def pump() -> None:  # keeps the pipe drained for the provider's whole life
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            lines.put(line)

    threading.Thread(target=pump, name="oidc-provider-output", daemon=True).start()
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if lines.get(timeout=0.2).startswith("ready "):
                    break
            except queue.Empty:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the OpenID provider did not start:\n" + "".join(output))
        yield LocalProvider(f"http://127.0.0.1:{port}", accounts, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def reserve_port() -> socket.socket:
    """A listening socket on a free 127.0.0.1 port, held while the tests use the port: the app
    is started on a copy of it test after test, so nobody else can take the port in between
    (other test runs share this machine)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


@contextmanager
def serve(db: Database, sock: socket.socket, **sso: Any) -> Iterator[str]:
    """The app on ``sock``'s port with ``sso`` settings (``oidc_issuer=…``) over ``db``."""
    settings = dataclasses.replace(db.settings, **sso)
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, database=db), host="127.0.0.1", log_level="warning")
    )
    # uvicorn closes the sockets it is given when it stops: it gets a duplicate, the port stays ours.
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock.dup()]}, name="sso-live-server", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@dataclass
class World:
    """A running app with single sign-on pointed at a running provider."""

    base: str
    provider: LocalProvider
    db: Database


StartWorld = Callable[..., World]


@pytest.fixture(scope="module")
def local_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalProvider, socket.socket]]:
    """One provider per test module (starting Node.js takes seconds) and the app's port it sends
    people back to (held: see :func:`reserve_port`); each test's app listens there in turn."""
    sock = reserve_port()
    callback = f"http://127.0.0.1:{sock.getsockname()[1]}{CALLBACK}"
    try:
        with run_provider(tmp_path_factory.mktemp("provider"), callback) as provider:
            yield provider, sock
    finally:
        sock.close()


@pytest.fixture
def sso_world(
    sqlite_db: Database, local_provider: tuple[LocalProvider, socket.socket]
) -> Iterator[StartWorld]:
    """``sso_world(oidc_jit=True, …)`` starts the app, with single sign-on pointed at the provider
    (whose accounts are back to :data:`ACCOUNTS`)."""
    provider, sock = local_provider
    provider.accounts_file.write_text(json.dumps(ACCOUNTS))
    stack: list[Any] = []

    def start(**overrides: Any) -> World:
        settings = {
            "oidc_issuer": provider.issuer,
            "oidc_client_id": CLIENT_ID,
            "oidc_client_secret": CLIENT_SECRET,
            "oidc_provider_name": "Local provider",
            **overrides,
        }
        server_cm = serve(sqlite_db, sock, **settings)
        base = server_cm.__enter__()
        stack.append(server_cm)
        return World(base, provider, sqlite_db)

    try:
        yield start
    finally:
        for cm in reversed(stack):
            cm.__exit__(None, None, None)


#: How long one request may take before a test fails. httpx's default (5 s) is an answer to a
#: remote service; here both ends run on this machine beside the rest of the suite, and under a
#: loaded CI run a first page once took longer than that (a ReadTimeout, not a wrong answer).
REQUEST_TIMEOUT = httpx.Timeout(60.0)


def browser() -> httpx.Client:
    """A cookie-keeping client for the app and the provider, patient as a person would be."""
    return httpx.Client(timeout=REQUEST_TIMEOUT)


def _form_action(page: httpx.Response) -> str:
    match = _FORM_ACTION.search(page.text)
    assert match, f"no form on {page.url}:\n{page.text[:2000]}"
    return str(page.url.join(unescape(match.group(1))))


def sign_in_at_provider(
    client: httpx.Client, base: str, login: str, *, next_path: str = "/"
) -> httpx.Response:
    """Click the button, sign in on the provider's page, consent: the app's last answer."""
    page = client.get(f"{base}/login/sso", params={"next": next_path}, follow_redirects=True)
    assert 'name="prompt" value="login"' in page.text, page.text[:2000]
    page = client.post(
        _form_action(page),
        data={"prompt": "login", "login": login, "password": "anything"},
        follow_redirects=True,
    )
    if 'name="prompt" value="consent"' in page.text:
        page = client.post(_form_action(page), data={"prompt": "consent"}, follow_redirects=True)
    return page


@pytest.fixture(autouse=True)
def _cheap_hasher(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The people are seeded with a cheap argon2id, as in tests/web (the browser test keeps the
    real one by asking for ``production_hasher``)."""
    if "production_hasher" not in request.fixturenames:
        monkeypatch.setattr(crypto, "HASHER", CHEAP)
