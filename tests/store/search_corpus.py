"""What the postings tests of both backends share: a small corpus of failures in two teams at
three visibilities, and a spy on a postings module's ``top``."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from lessonloop.people.service import add_team
from tests.factories import SYSTEM, failure, team_with_people


def corpus(session: Session, *, timeout_word: str = "timeout") -> dict[str, Any]:
    """60 failures: "gateway" 1-4 times in each, ``timeout_word`` in every third, filler words
    diluting some, "Gateway timeout" in every fifth title, "report <n>" in each; org, team and
    private in turn, alternately in ben's team and another."""
    people = team_with_people(session)
    payments, other = people["team"], add_team(session, name="Elsewhere", viewer=SYSTEM)
    ids = []
    for n in range(60):
        words = ["gateway"] * (1 + n % 4) + ([timeout_word] if n % 3 == 0 else []) + ["filler"] * (n % 7)
        ids.append(
            failure(
                session,
                title=("Gateway timeout " if n % 5 == 0 else "Incident ") + str(n),
                observation=" ".join(words) + f" report {n}",
                visibility=("org", "team", "private")[n % 3],
                team=(payments, other)[n % 2],
            ).id
        )
    session.flush()
    return {"ben": people["ben"], "ids": ids}


def spy_on_top(monkeypatch: pytest.MonkeyPatch, module: Any) -> list[bool]:
    """One entry per search that tried ``module.top``: whether it answered (not ``None``)."""
    seen: list[bool] = []
    real = module.top

    def spy(*args: Any, **kwargs: Any) -> Any:
        head = real(*args, **kwargs)
        seen.append(head is not None)
        return head

    monkeypatch.setattr(module, "top", spy)
    return seen
