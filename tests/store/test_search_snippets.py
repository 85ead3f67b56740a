"""Snippets are cut from a bounded window of each body (issue #17: a 2 MB observation made a
SQLite search take 17 s, because FTS5's snippet() read the whole text). The tests assert on how
much text reaches the snippet code, never on time."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from lessonloop.store import search as index
from lessonloop.store.search import SNIPPET_WINDOW, index_documents, rank, snippet


@pytest.fixture
def windows(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The length of every text handed to the snippet code."""
    seen: list[int] = []
    real = index.snippet

    def spy(window: str, query_terms: list[str]) -> str:
        seen.append(len(window))
        return real(window, query_terms)

    monkeypatch.setattr(index, "snippet", spy)
    return seen


def test_a_2mb_body_is_snippeted_from_a_bounded_window(session: Session, windows: list[int]) -> None:
    body = "The zebra crossing failed at dawn. " + "filler words 🦓 and more words. " * 65_000 + "zebra"
    assert len(body.encode()) > 2_000_000
    index_documents(session.connection(), [("failure", 1, "Big report", body), ("failure", 2, "Zebra", "x")])
    hits = rank(session, "zebra")
    assert sorted(h.record_id for h in hits) == [1, 2]
    # characters, not bytes, on both backends (the emoji are 4 bytes in UTF-8)
    assert sorted(windows) == [1, SNIPPET_WINDOW]
    big = next(h for h in hits if h.record_id == 1)
    assert big.snippet.startswith("The [zebra] crossing failed") and big.snippet.endswith("…")
    assert len(big.snippet) < 200


def test_a_match_past_the_window_is_found_and_shows_the_first_words(
    session: Session, windows: list[int]
) -> None:
    body = "Nothing to see in the opening lines. " * 1_000 + "the okapi appears late"
    index_documents(session.connection(), [("failure", 1, "Late match", body)])
    [hit] = rank(session, "okapi")
    assert hit.record_id == 1 and windows == [SNIPPET_WINDOW]
    assert hit.snippet.startswith("Nothing to see") and "[" not in hit.snippet


def test_snippets_mark_the_words_that_match_around_the_first() -> None:
    text = " ".join(f"w{i}" for i in range(40)) + " Deploys failed badly, then more words follow on and on"
    assert (
        snippet(text, ["deploy", "failing"])
        == "…w37 w38 w39 [Deploys] [failed] badly, then more words follow on and…"
    )
    assert snippet("rare data loss in edge cases", ["data", "loss"]) == "rare [data] [loss] in edge cases"
    assert snippet("no match here", ["zebra"]) == "no match here"
    assert snippet("", ["zebra"]) == ""
