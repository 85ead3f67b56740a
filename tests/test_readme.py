"""README.md stays true: its tour runs, in order, on a new database, and says what it prints.

Like Datasette's documentation tests, the README is the test's input. Every ``sh`` block is
executed top to bottom in an empty folder, with a small interpreter for the few shell forms the
README uses (anything else fails the test, so nothing in the tour goes unchecked):

* ``lessonloop ARGS`` runs in-process (``\\`` continues a line; ``# ...`` is a comment);
* ``# → TEXT`` right after a command: TEXT must appear in what that command printed;
* ``NAME=$(lessonloop ARGS)`` captures stdout; ``$NAME`` is expanded in later lines;
* ``printf '%s\\n' ARG... | lessonloop ...`` and ``echo ARG... | lessonloop ...`` feed stdin;
* ``export NAME=VALUE``, ``. .venv/bin/activate`` (a no-op here), ``cmp A B``;
* ``curl -s [-H HEADER]... URL`` is a GET through the app in-process (the server itself is not
  started).

Skipped: ``make ...``, ``lessonloop serve`` and ``lessonloop worker`` without ``--once`` (they run
until stopped), and lines naming ``../shared/data`` when that folder is absent. A file the README
says to "Save this as `NAME`" is written from the block that follows. The interactive review is
answered from ``ANSWERS``. Also checked: the ``make run`` output shown (against the real demo)
and the error example.
"""

from __future__ import annotations

import filecmp
import os
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from lessonloop.cli import common, serve_cmds
from lessonloop.cli.main import app
from tests.conftest import DATA_DIR

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
SAVE_AS = re.compile(r"[Ss]ave this as `([^`]+)`:\s*$")
ASSIGN = re.compile(r"^(?P<name>[A-Za-z_]\w*)=\$\((?P<command>[^)]*)\)\s*(?:#.*)?$")
PIPE = re.compile(r"^(?P<producer>(?:printf|echo)\s.*?)\s\|\s(?P<command>lessonloop\s.*)$")
OPERATORS = {"|", "||", "&", "&&", ";", ">", ">>", "<", "2>"}
VARIABLE = re.compile(r"\$\{?([A-Za-z_]\w*)\}?")

# What is typed at the prompts of the interactive review in the tour.
ANSWERS: dict[tuple[str, ...], list[str]] = {
    ("review", "2"): [
        "The on-call notes carry everything the next shift needs",
        "Nobody had complained before",
        "A new shift pattern with no overlap",
        "Hand-offs have no checklist and no overlap",
        "process",
        "Nothing in the hand-off required a check of open incidents",
        "",  # no contributing factor
        "",  # no assumption to track
        "Add a 15-minute overlap to every shift change",
        "ana",
        "+14d",
        "",  # the default review date
        "n",  # no secondary action
    ]
}


def blocks() -> list[tuple[str, str, str]]:
    """(language, body, the text between the previous block and this one)."""
    text = README.read_text(encoding="utf-8")
    found, end = [], 0
    for match in FENCE.finditer(text):
        found.append((match.group(1), match.group(2), text[end : match.start()]))
        end = match.end()
    return found


def logical_lines(body: str) -> list[str]:
    lines: list[str] = []
    pending = ""
    for raw in body.splitlines():
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        lines.append((pending + raw).strip())
        pending = ""
    assert not pending, f"a continued line never ends: {pending!r}"
    return lines


class Tour:
    """Runs the README's shell lines; see the module docstring for what it understands."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.runner = CliRunner()
        self.variables: dict[str, str] = {}
        self.last: str | None = None  # output of the last command run; None after a skip
        self.ran = 0
        self.skipped: list[str] = []

    def lessonloop(self, args: list[str], stdin: str | None = None) -> Result:
        if stdin is None:
            stdin = _answers(args)
        try:
            result = self.runner.invoke(app, args, input=stdin)
        finally:
            common.reset()
        assert result.exit_code == 0, (
            f"README: lessonloop {shlex.join(args)} exited {result.exit_code}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}\nexception: {result.exception!r}"
        )
        self.ran += 1
        return result

    def expand(self, line: str) -> str:
        return VARIABLE.sub(lambda m: self.variables.get(m.group(1), m.group(0)), line)

    def skip(self, line: str) -> None:
        self.skipped.append(line)
        self.last = None

    def run(self, line: str) -> None:
        if not line:
            return
        if line.startswith("# →"):
            expected = line.removeprefix("# →").strip()
            if self.last is not None:
                assert expected in self.last, f"README says {expected!r}; the command printed:\n{self.last}"
            return
        if line.startswith("#"):
            return
        if "../shared/data" in line:
            if not DATA_DIR.is_dir():
                return self.skip(line)
            line = line.replace("../shared/data", str(DATA_DIR))
        line = self.expand(line)
        if line.startswith("make "):
            return self.skip(line)
        if assign := ASSIGN.match(line):
            args = shlex.split(assign["command"])
            assert args[0] == "lessonloop", line
            self.variables[assign["name"]] = self.lessonloop(args[1:]).stdout.strip()
            self.last = self.variables[assign["name"]]
            return
        if pipe := PIPE.match(line):
            producer = shlex.split(pipe["producer"], comments=True)
            args = shlex.split(pipe["command"], comments=True)
            self.last = self.lessonloop(args[1:], stdin=_produce(producer)).stdout
            return
        words = shlex.split(line, comments=True)
        if OPERATORS.intersection(words[:-1]) or words[-1] in OPERATORS - {"&"}:
            pytest.fail(f"README: the tour test does not know how to run this line: {line}")
        background = words[-1] == "&"
        if background:
            words = words[:-1]
        if words[0] == "lessonloop":
            if _runs_until_stopped(words[1:]):
                return self.skip(line)
            assert not background, f"README: only a server or a worker loop may run in the background: {line}"
            self.last = self.lessonloop(words[1:]).output
        elif words[0] in {".", "source"} and words[1:] == [".venv/bin/activate"]:
            self.last = ""
        elif words[0] == "export" and len(words) == 2 and "=" in words[1]:
            name, value = words[1].split("=", 1)
            self.monkeypatch.setenv(name, value)
            self.last = ""
        elif words[0] == "cmp" and len(words) == 3:
            assert filecmp.cmp(words[1], words[2], shallow=False), f"README: {line}: the files differ"
            self.last = ""
        elif words[0] == "curl":
            self.last = _curl(words[1:])
            self.ran += 1
        else:
            pytest.fail(f"README: the tour test does not know how to run this line: {line}")


def _answers(args: list[str]) -> str | None:
    answers = ANSWERS.get(tuple(args))
    return None if answers is None else "\n".join(answers) + "\n"


def _produce(words: list[str]) -> str:
    if words[0] == "echo":
        return " ".join(words[1:]) + "\n"
    assert words[:2] == ["printf", "%s\\n"], f"README: only printf '%s\\n' ARGS... is supported: {words}"
    return "".join(f"{word}\n" for word in words[2:])


def _runs_until_stopped(args: list[str]) -> bool:
    if args[:1] == ["serve"]:
        return True
    return args[:1] == ["worker"] and "--once" not in args and args[1:2] != ["jobs"]


def _curl(words: list[str]) -> str:
    """``curl -s [-H 'Name: value']... URL``: a GET answered by the app, in-process."""
    from fastapi.testclient import TestClient

    from lessonloop.app import create_app

    headers: dict[str, str] = {}
    url = ""
    rest = iter(words)
    for word in rest:
        if word == "-s":
            continue
        if word == "-H":
            name, value = next(rest).split(":", 1)
            headers[name.strip()] = value.strip()
        elif word.startswith("http://") and not url:
            url = word
        else:
            pytest.fail(f"README: curl option not supported by the tour test: {word}")
    path = "/" + url.split("/", 3)[3]
    with TestClient(create_app()) as client:
        response = client.get(path, headers=headers)
    assert response.status_code == 200, (url, response.status_code, response.text)
    return response.text


def test_the_tour_runs_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("LESSONLOOP_DATABASE_URL", "LESSONLOOP_ACTOR"):
        monkeypatch.delenv(name, raising=False)
    tour = Tour(monkeypatch)
    for lang, body, before in blocks():
        if saved := SAVE_AS.search(before):
            (tmp_path / saved.group(1)).write_text(body, encoding="utf-8")
        if lang == "sh":
            for line in logical_lines(body):
                tour.run(line)

    assert os.environ["LESSONLOOP_DATABASE_URL"] == "sqlite:///tour.db"  # the tour's own database
    assert (tmp_path / "tour.db").exists() and not (tmp_path / "lessonloop.db").exists()
    assert tour.ran >= 50, tour.ran
    assert all(
        line.startswith(("make ", "lessonloop serve", "lessonloop worker", "lessonloop import"))
        for line in tour.skipped
    )
    assert (tmp_path / "postmortem-1.html").exists() and (tmp_path / "metrics.csv").exists()
    assert tour.variables["TOKEN"].startswith("ll_")


def test_make_run_prints_what_the_readme_shows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`make run` on an empty ./lessonloop.db: the real demo, uvicorn and the app stubbed."""
    import lessonloop.app

    shown = next(
        body
        for lang, body, before in blocks()
        if lang == "text" and body.startswith("the workspace was empty")
    )
    monkeypatch.chdir(tmp_path)
    for name in ("LESSONLOOP_DATABASE_URL", "LESSONLOOP_ACTOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(lessonloop.app, "create_app", lambda settings, run_worker=False: "the-app")
    monkeypatch.setattr(serve_cmds, "run_server", lambda application, host, port, on_ready: on_ready())
    makefile = (README.parent / "Makefile").read_text(encoding="utf-8")
    assert "$(BIN)/lessonloop serve --host $(HOST) --port $(PORT) --demo-if-empty" in makefile
    assert "HOST ?= 127.0.0.1" in makefile and "PORT ?= 8000" in makefile
    try:
        result = CliRunner().invoke(
            app, ["serve", "--host", "127.0.0.1", "--port", "8000", "--demo-if-empty"]
        )
    finally:
        common.reset()
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == shown.splitlines()


def test_the_error_example_is_what_the_cli_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    example = next(body for lang, body, _ in blocks() if lang == "text" and body.startswith("$ lessonloop "))
    command, expected = example.strip().splitlines()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LESSONLOOP_DATABASE_URL", f"sqlite:///{tmp_path / 'errors.db'}")
    runner = CliRunner()
    try:
        for setup in (["person", "add", "Ben Okafor", "--handle", "ben"], ["log", "Checkout v2 slipped"]):
            assert runner.invoke(app, setup).exit_code == 0
        result = runner.invoke(app, shlex.split(command)[2:])
    finally:
        common.reset()
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.strip() == expected
