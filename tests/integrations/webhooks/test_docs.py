"""docs/integrations.md's chat and event webhook sections stay true: the CLI examples run as
written and print what they say, and the receiver's verification snippet, run as written, accepts
a real signed delivery once and refuses a changed body and an old timestamp."""

from __future__ import annotations

import re
import shlex
import time
from pathlib import Path
from typing import Any

from lessonloop.integrations.webhooks import service as hooks
from lessonloop.notifications.config import WorkerConfig
from lessonloop.people.service import add_person, add_team
from lessonloop.store.base import utcnow
from lessonloop.store.engine import Database
from lessonloop.worker.runner import deliver
from tests.cli import Cli
from tests.factories import SYSTEM, failure
from tests.integrations.webhooks.receiver import receiver

DOC = Path(__file__).resolve().parents[3] / "docs" / "integrations.md"


def section(title: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"## {title}")
    return text[start : text.index("\n## ", start + 1)]


def examples(text: str) -> list[tuple[list[str], list[str]]]:
    """Each command of the ``sh`` blocks with the ``# →`` lines that follow it."""
    out: list[tuple[list[str], list[str]]] = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            if line.startswith("# →"):
                out[-1][1].append(line[len("# → ") :])
            elif line.split("#")[0].strip():
                out.append((shlex.split(line, comments=True), []))
    return out


def _run(cli: Cli, text: str) -> list[str]:
    outputs = []
    for argv, expected in examples(text):
        assert argv[0] == "lessonloop"
        stdout = cli(*argv[1:]).stdout
        for want in expected:
            pattern = re.escape(want).replace("…", ".+")
            assert re.search(pattern, stdout), (argv, want, stdout)
        outputs.append(stdout)
    return outputs


def test_the_chat_example_runs(sqlite_db: Database) -> None:
    with sqlite_db.unit() as s:
        add_person(s, name="Ana", handle="ana", viewer=SYSTEM)
    assert _run(Cli(sqlite_db.settings.database_url), section("Chat notifications (apprise)"))


def test_the_event_webhook_example_runs(sqlite_db: Database) -> None:
    with sqlite_db.unit() as s:
        add_team(s, name="Payments", viewer=SYSTEM)
    outputs = _run(Cli(sqlite_db.settings.database_url), section("Outgoing event webhooks"))
    assert len(outputs) == 4 and "disabled" in outputs[-1]


def _snippet() -> dict[str, Any]:
    text = section("Outgoing event webhooks")
    (code,) = re.findall(r"### Verifying a delivery.*?```python\n(.*?)```", text, re.S)
    namespace: dict[str, Any] = {}
    exec(compile(code, "integrations.md", "exec"), namespace)  # our own documentation, run as written
    return namespace


def test_the_receiver_snippet_verifies_a_real_delivery(sqlite_db: Database) -> None:
    snippet = _snippet()
    with receiver() as hook:
        with sqlite_db.unit() as s:
            secret = hooks.add_endpoint(
                s, url=hook.url, events=["failure.logged"], allow_hosts=("127.0.0.1",), viewer=SYSTEM
            ).secret
            failure(s, visibility="org")
        # Sent now (the worker's clock is the real one here), so the snippet's own clock agrees.
        deliver(
            sqlite_db, now=utcnow(), config=WorkerConfig(webhook_allow_hosts=("127.0.0.1",)), worker_id="w"
        )
    (got,) = hook.accepted
    assert snippet["handle"](secret, got.headers, got.body) == 200
    assert snippet["handle"](secret, got.headers, got.body) == 200  # a repeat: acknowledged
    assert snippet["seen_event_ids"] == {got.headers["X-Lessonloop-Event-Id"]}
    assert snippet["handle"](secret, got.headers, got.body + b" ") == 401
    assert snippet["handle"]("whsec_other", got.headers, got.body) == 401
    assert not snippet["verify"](secret, got.headers, got.body, now=time.time() + 3600)


def test_troubleshooting_has_a_part_for_every_integration() -> None:
    text = DOC.read_text(encoding="utf-8")
    integrations = re.findall(r"^## (.+)$", text, re.M)
    assert integrations[-1] == "Troubleshooting"
    parts = re.findall(r"^### (.+)$", text[text.index("\n## Troubleshooting") :], re.M)
    assert parts == ["Slack", "Issue trackers", "Single sign-on", "Chat notifications", "Event webhooks"]
    assert len(parts) == len(integrations) - 1  # one per integration section above it
