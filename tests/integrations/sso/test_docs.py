"""docs/integrations.md's single sign-on section stays true: its CLI example runs as written, and
every setting it lists is one lessonloop reads."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from lessonloop.integrations.sso.models import SsoIdentity
from lessonloop.people.service import add_person
from lessonloop.store.engine import Database
from tests.cli import Cli
from tests.factories import SYSTEM

DOC = Path(__file__).resolve().parents[3] / "docs" / "integrations.md"
SETTINGS = Path(__file__).resolve().parents[3] / "src" / "lessonloop" / "settings.py"


def section() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("## Single sign-on (OpenID Connect)")
    return text[start : text.index("\n## ", start + 1)]


def test_the_cli_example_runs(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    with sqlite_db.unit() as session:
        ana = add_person(session, name="Ana", handle="ana", email="ana@example.com", viewer=SYSTEM)
        session.add(SsoIdentity(person=ana, issuer="https://id.example.com", subject="a-1"))
    block = re.search(r"```bash\n(.*?)```", section(), re.S)
    assert block
    cli, ran = Cli(sqlite_db.settings.database_url), 0
    for line in block.group(1).splitlines():
        words = shlex.split(line)
        if words[:1] == ["export"]:
            for pair in words[1:]:
                monkeypatch.setenv(*pair.split("=", 1))
        elif words[:1] == ["lessonloop"]:
            cli(*words[1:])
            ran += 1
    assert ran == 4


def test_every_documented_setting_is_read() -> None:
    documented = set(re.findall(r"`(LESSONLOOP_OIDC_[A-Z_]+)`", section()))
    assert len(documented) == 8
    read = SETTINGS.read_text(encoding="utf-8")
    assert sorted(name for name in documented if f'"{name}"' not in read) == []
