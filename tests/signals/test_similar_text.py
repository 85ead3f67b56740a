"""Tokens for similarity: the Porter stemmer and the stop words."""

from __future__ import annotations

import pytest

from lessonloop.signals.text import is_content_word, stem, term_counts, tokens

# Pairs from Porter's paper and the reference vocabulary.
PORTER = {
    "caresses": "caress",
    "ponies": "poni",
    "cats": "cat",
    "agreed": "agre",
    "plastered": "plaster",
    "motoring": "motor",
    "hopping": "hop",
    "falling": "fall",
    "filing": "file",
    "happy": "happi",
    "relational": "relat",
    "conditional": "condit",
    "digitizer": "digit",
    "vietnamization": "vietnam",
    "hopefulness": "hope",
    "formaliti": "formal",
    "triplicate": "triplic",
    "electrical": "electr",
    "revival": "reviv",
    "adjustment": "adjust",
    "adoption": "adopt",
    "effective": "effect",
    "probate": "probat",
    "controll": "control",
    "configuration": "configur",
    "configured": "configur",
    "outages": "outag",
}


@pytest.mark.parametrize(("word", "expected"), sorted(PORTER.items()))
def test_porter_stems(word: str, expected: str) -> None:
    assert stem(word) == expected


def test_tokens_drop_stop_words_numbers_and_single_letters() -> None:
    assert tokens("The routers were misconfigured at 12:47, a BGP_change!") == [
        "router",
        "misconfigur",
        "bgp",
        "chang",
    ]
    assert not is_content_word("the") and not is_content_word("2023") and is_content_word("503s")
    assert term_counts("Outage, outages and OUTAGE") == {"outag": 3}
    assert tokens("") == [] and tokens("… — !!") == []
