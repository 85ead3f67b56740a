"""argon2id at production cost takes ~0.25 s a hash; most tests here use a cheap argon2id."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from lessonloop.accounts import crypto

CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def production_hasher() -> PasswordHasher:
    """Ask for this fixture to keep the real parameters."""
    return crypto.HASHER


@pytest.fixture(autouse=True)
def _cheap_hasher(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    if "production_hasher" not in request.fixturenames:
        monkeypatch.setattr(crypto, "HASHER", CHEAP)
    yield
