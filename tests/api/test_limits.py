"""Size limits (issue #11, leak 6): bodies, fields and lists are bounded, refusals are short.

* every request body field of the API has a length bound from ``lessonloop.limits``;
* a body over the limit is 413 by its Content-Length and while it streams (no Content-Length),
  for the API (JSON) and for the web forms (text), and nothing is stored;
* a 422 never echoes a huge input back;
* the coach refuses more text than it reads in one call (API 422, CLI exit 1);
* ``lessonloop serve`` stops on SIGTERM while a request is still in progress;
* docs/api.md lists every limit with its value.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from lessonloop import limits
from lessonloop.cli.main import app as cli_app
from lessonloop.store.engine import Database
from tests.api.conftest import API, ok

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"
SMALL_ANSWER = 4096  # bytes: a refusal is a message, never the input


def _total_failures(client: TestClient) -> int:
    return int(ok(client.get(f"{API}/failures"))["total"])


# --- every field is bounded --------------------------------------------------------------------


def _unbounded(schema: dict[str, Any], components: dict[str, Any], where: str, seen: set[str]) -> list[str]:
    """Paths in a request schema to a string without maxLength, an array without maxItems or an
    object of free keys without maxProperties."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return []
        seen.add(name)
        return _unbounded(components[name], components, f"{where}<{name}>", seen)
    found: list[str] = []
    for key in ("anyOf", "oneOf", "allOf"):
        for i, part in enumerate(schema.get(key, [])):
            found += _unbounded(part, components, f"{where}|{i}", seen)
    kind = schema.get("type")
    if kind == "string" and "maxLength" not in schema and "enum" not in schema and "format" not in schema:
        found.append(where)
    if kind == "array":
        if "maxItems" not in schema:
            found.append(where)
        found += _unbounded(schema.get("items", {}), components, f"{where}[]", seen)
    if kind == "object":
        for name, prop in schema.get("properties", {}).items():
            found += _unbounded(prop, components, f"{where}.{name}", seen)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            if "maxProperties" not in schema:
                found.append(f"{where}{{}}")
            found += _unbounded(extra, components, f"{where}{{}}", seen)
    return found


def test_every_request_body_field_has_a_length_limit(sqlite_db: Database) -> None:
    from lessonloop.app import create_app

    doc = create_app(database=sqlite_db).openapi()
    components = doc["components"]["schemas"]
    unbounded: list[str] = []
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            for media in content.values():
                unbounded += _unbounded(media["schema"], components, f"{method.upper()} {path} ", set())
    assert unbounded == []


# --- request bodies ------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_413_by_its_length_and_nothing_is_stored(client: TestClient) -> None:
    observation = "x" * (limits.JSON_BODY_MAX_BYTES + 1)
    refused = client.post(f"{API}/failures", json={"title": "big", "observation": observation})
    assert refused.status_code == 413
    assert len(refused.content) < SMALL_ANSWER
    assert refused.json()["detail"] == f"request body too large: at most {limits.JSON_BODY_MAX_BYTES} bytes"
    assert _total_failures(client) == 0


def test_a_streamed_body_without_a_length_is_refused_once_past_the_limit(client: TestClient) -> None:
    chunk = b"x" * 65536
    sent = 0

    def body() -> Iterator[bytes]:
        nonlocal sent
        yield b'{"title": "streamed", "observation": "'
        for _ in range(limits.JSON_BODY_MAX_BYTES // len(chunk) * 4):  # four times the limit
            sent += len(chunk)
            yield chunk
        yield b'"}'

    refused = client.post(f"{API}/failures", content=body(), headers={"Content-Type": "application/json"})
    assert refused.status_code == 413, refused.text
    assert "at most" in refused.json()["detail"]
    assert _total_failures(client) == 0


def test_a_form_over_the_limit_is_413_in_plain_text(client: TestClient) -> None:
    refused = client.post(
        "/login",
        content=b"handle=ana&password=" + b"x" * limits.FORM_BODY_MAX_BYTES,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert refused.status_code == 413
    assert refused.headers["content-type"].startswith("text/plain")
    assert refused.text == f"request body too large: at most {limits.FORM_BODY_MAX_BYTES} bytes"


def test_a_body_within_the_limit_passes(client: TestClient) -> None:
    observation = "y" * limits.LONG_TEXT_MAX
    created = ok(client.post(f"{API}/failures", json={"title": "fits", "observation": observation}), 201)
    assert created["observation"] == observation


# --- fields and lists ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "t" * (limits.TITLE_MAX + 1)),
        ("observation", "o" * (limits.LONG_TEXT_MAX + 1)),
        ("labels", [f"label-{i}" for i in range(limits.LABELS_MAX + 1)]),
        ("labels", ["l" * (limits.SHORT_TEXT_MAX + 1)]),
        ("people", [f"person-{i}" for i in range(limits.PEOPLE_MAX + 1)]),
    ],
)
def test_a_field_or_list_over_its_limit_is_422_and_nothing_is_stored(
    client: TestClient, field: str, value: Any
) -> None:
    body = {"title": "ok", field: value}
    refused = client.post(f"{API}/failures", json=body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"][0]["loc"][:2] == ["body", field]
    assert _total_failures(client) == 0
    created = ok(client.post(f"{API}/failures", json={"title": "first"}), 201)
    patched = client.patch(f"{API}/failures/{created['id']}", json={field: value})
    assert patched.status_code == 422, patched.text


def test_the_title_limit_is_the_same_everywhere(client: TestClient) -> None:
    fits = "t" * limits.TITLE_MAX
    ok(client.post(f"{API}/failures", json={"title": fits}), 201)
    lesson = {"title": fits, "learned": "Date every dependency"}
    ok(client.post(f"{API}/lessons", json=lesson), 201)
    assert client.post(f"{API}/lessons", json={**lesson, "title": fits + "t"}).status_code == 422


# --- 422 answers stay small ----------------------------------------------------------------------


def test_a_huge_invalid_value_is_not_echoed_back(client: TestClient) -> None:
    huge = "z" * (limits.JSON_BODY_MAX_BYTES - 1000)
    refused = client.post(f"{API}/failures", json={"title": huge})
    assert refused.status_code == 422
    assert len(refused.content) < SMALL_ANSWER
    problem = refused.json()["detail"][0]
    assert problem["loc"] == ["body", "title"]
    assert len(problem["input"]) <= limits.ERROR_INPUT_MAX + 1


def test_many_problems_are_counted_not_listed(client: TestClient) -> None:
    refused = client.post(f"{API}/failures", json={"title": "t", "people": [[]] * 40, "labels": [{}] * 40})
    assert refused.status_code == 422
    detail = refused.json()["detail"]
    assert len(detail) == limits.ERRORS_SHOWN_MAX + 1
    assert detail[-1]["type"] == "too_many_errors"
    assert len(refused.content) < SMALL_ANSWER


def test_a_huge_invalid_body_gets_a_small_answer(client: TestClient) -> None:
    refused = client.post(
        f"{API}/failures",
        content=b"[" + b"1," * 5_000_000 + b"1]",
        headers={"Content-Type": "application/json"},
    )
    assert refused.status_code == 413
    assert len(refused.content) < SMALL_ANSWER
    almost = b'{"title": ' + b"[" + b"1," * (limits.JSON_BODY_MAX_BYTES // 2 - 100) + b"1]}"
    refused = client.post(f"{API}/failures", content=almost, headers={"Content-Type": "application/json"})
    assert refused.status_code == 422
    assert len(refused.content) < SMALL_ANSWER


# --- the coach -------------------------------------------------------------------------------------


def test_the_coach_refuses_too_much_text_with_422(client: TestClient) -> None:
    refused = client.post(f"{API}/coach", json={"text": "Bob was careless. " * 6000})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "text"]
    # Each field fits, together they do not: the coach's own limit answers.
    half = "Bob was careless. " * (limits.COACH_TEXT_MAX // 36 + 1)
    refused = client.post(f"{API}/coach", json={"fields": {"why": half, "what_changed": half}})
    assert refused.status_code == 422, refused.text
    assert "too long for the coach" in refused.json()["detail"][0]["msg"]


def test_the_coach_answers_within_the_limit(client: TestClient) -> None:
    answer = ok(client.post(f"{API}/coach", json={"text": "Bob was careless. " * 100}))
    assert len(answer["findings"]) == 100
    review = ok(
        client.post(
            f"{API}/coach",
            json={"fields": {"why": "Bob was careless."}, "actions": [{"title": "Be careful"}]},
        )
    )
    assert review["summary"]["blame"] == 1 and review["summary"]["vague_actions"] == 1


def test_the_coach_command_refuses_too_much_text_in_one_line(tmp_path: Path) -> None:
    review = tmp_path / "review.md"
    review.write_text("Bob was careless. " * (limits.COACH_TEXT_MAX // 18 + 10), encoding="utf-8")
    result = CliRunner().invoke(cli_app, ["coach", str(review)])
    assert result.exit_code == 1
    message = result.stderr.strip() if result.stderr else result.output.strip()
    assert len(message.splitlines()) == 1
    assert f"too long for the coach (at most {limits.COACH_TEXT_MAX} characters)" in message


# --- the documented limits -----------------------------------------------------------------------


def _documented_limits() -> dict[str, int]:
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("\n## Limits\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([A-Z_]+)` \| ([\d ,_]+) \|", section, re.M)
    return {name: int(re.sub(r"[ ,_]", "", value)) for name, value in rows}


def test_the_docs_list_every_limit_with_its_value() -> None:
    defined = {
        name: value for name, value in vars(limits).items() if name.isupper() and isinstance(value, int)
    }
    assert _documented_limits() == defined


# --- SIGTERM ---------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_listening(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 120  # a liveness bound: migrating a new database takes a while
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server stopped before listening"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the server never listened")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = _free_port()
    env = {**os.environ, "LESSONLOOP_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}"}
    process = subprocess.Popen(
        [sys.executable, "-c", "from lessonloop.cli.main import main; main()", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_listening(process, port)
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_server_stops_on_sigterm_while_a_request_is_in_progress(
    server: tuple[subprocess.Popen[bytes], int],
) -> None:
    process, port = server
    with socket.create_connection(("127.0.0.1", port), timeout=5) as busy:
        # A request whose body never finishes arriving: the server is busy with it for ever.
        busy.sendall(
            b"POST /api/v1/coach HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n" + b'{"text": "'
        )
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)  # a liveness bound, not a speed test
    # uvicorn shuts down, then re-raises SIGTERM so the process ends as a signalled one would.
    assert process.returncode in (0, -signal.SIGTERM)


def test_a_real_chunked_upload_is_refused_while_it_streams(
    server: tuple[subprocess.Popen[bytes], int],
) -> None:
    _process, port = server
    chunk = b"x" * 65536
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(
            b"POST /api/v1/failures HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        answer = b""
        try:
            # Up to ten times the limit; the answer comes long before, and the rest is never read.
            for _ in range(limits.JSON_BODY_MAX_BYTES * 10 // len(chunk)):
                conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            pass  # the server closed the connection after answering
        try:
            while not answer.endswith(b"}"):
                part = conn.recv(65536)
                if not part:
                    break
                answer += part
        except OSError:
            pass
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"request body too large" in answer
