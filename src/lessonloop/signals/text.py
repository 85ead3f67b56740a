"""Tokens for ranking: lower-cased words, English stop words removed, Porter-stemmed.

The stemmer is the original Porter (1980) algorithm, the one SQLite's FTS5 ``porter`` tokenizer
and (closely) PostgreSQL's ``english`` configuration apply, so the terms ranked in Python are
the terms the full-text index matched. No third-party dependency.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

# Letters and digits; "_" and punctuation split words, as in both full-text indexes.
_WORD = re.compile(r"[^\W_]+", re.UNICODE)

_STOP_WORDS = """
    a about above after again against all am an and any are aren as at be because been before being
    below between both but by can cannot could couldn did didn do does doesn doing don down during each
    few for from further had hadn has hasn have haven having he her here hers herself him himself his how
    i if in into is isn it its itself just let ll me more most mustn my myself no nor not now of off on
    once only or other ought our ours ourselves out over own re s same shan she should shouldn so some
    such t than that the their theirs them themselves then there these they this those through to too
    under until up us ve very was wasn we were weren what when where which while who whom why will with
    won would wouldn you your yours yourself yourselves also may might must shall within without upon
    via per etc e g ie eg
"""
STOP_WORDS = frozenset(_STOP_WORDS.split())


def words(text: str) -> list[str]:
    """Lower-cased words of ``text`` (letters/digits runs), stop words included."""
    return [w.lower() for w in _WORD.findall(text)]


def is_content_word(word: str) -> bool:
    """Stop words, single characters and bare numbers carry no topic."""
    return len(word) > 1 and word not in STOP_WORDS and not word.isdigit()


@lru_cache(maxsize=65536)
def term(word: str) -> str | None:
    """The stemmed term of one lower-case word, or None for a stop word or number."""
    return stem(word) if is_content_word(word) else None


def tokens(text: str) -> list[str]:
    """Stemmed content words of ``text``, in order (repeats kept)."""
    return [t for t in map(term, _WORD.findall(text.lower())) if t is not None]


def term_counts(text: str) -> Counter[str]:
    return Counter(tokens(text))


# --- Porter stemmer -----------------------------------------------------------------------------

_VOWELS = frozenset("aeiou")


def _cons(w: str, i: int) -> bool:
    ch = w[i]
    if ch in _VOWELS:
        return False
    if ch == "y":
        return i == 0 or not _cons(w, i - 1)
    return True


def _measure(stem_: str) -> int:
    """m in [C](VC)^m[V]."""
    m, i, n = 0, 0, len(stem_)
    while i < n and _cons(stem_, i):
        i += 1
    while i < n:
        while i < n and not _cons(stem_, i):
            i += 1
        if i >= n:
            break
        m += 1
        while i < n and _cons(stem_, i):
            i += 1
    return m


def _has_vowel(stem_: str) -> bool:
    return any(not _cons(stem_, i) for i in range(len(stem_)))


def _double_cons(w: str) -> bool:
    return len(w) >= 2 and w[-1] == w[-2] and _cons(w, len(w) - 1)


def _cvc(w: str) -> bool:
    if len(w) < 3:
        return False
    return _cons(w, len(w) - 3) and not _cons(w, len(w) - 2) and _cons(w, len(w) - 1) and w[-1] not in "wxy"


def _replace(w: str, suffixes: tuple[tuple[str, str], ...], min_m: int) -> str:
    for suffix, repl in suffixes:
        if w.endswith(suffix):
            base = w[: len(w) - len(suffix)]
            return base + repl if _measure(base) > min_m else w
    return w


_STEP2 = (
    ("ational", "ate"),
    ("tional", "tion"),
    ("enci", "ence"),
    ("anci", "ance"),
    ("izer", "ize"),
    ("bli", "ble"),
    ("alli", "al"),
    ("entli", "ent"),
    ("eli", "e"),
    ("ousli", "ous"),
    ("ization", "ize"),
    ("ation", "ate"),
    ("ator", "ate"),
    ("alism", "al"),
    ("iveness", "ive"),
    ("fulness", "ful"),
    ("ousness", "ous"),
    ("aliti", "al"),
    ("iviti", "ive"),
    ("biliti", "ble"),
    ("logi", "log"),
)
_STEP3 = (
    ("icate", "ic"),
    ("ative", ""),
    ("alize", "al"),
    ("iciti", "ic"),
    ("ical", "ic"),
    ("ful", ""),
    ("ness", ""),
)
_STEP4 = (
    "al",
    "ance",
    "ence",
    "er",
    "ic",
    "able",
    "ible",
    "ant",
    "ement",
    "ment",
    "ent",
    "ion",
    "ou",
    "ism",
    "ate",
    "iti",
    "ous",
    "ive",
    "ize",
)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Porter-stem one lower-case word."""
    w = word
    if len(w) <= 2 or not w.isalpha():
        return w
    # Step 1a
    if w.endswith(("sses", "ies")):
        w = w[:-2]
    elif w.endswith("ss"):
        pass
    elif w.endswith("s"):
        w = w[:-1]
    # Step 1b
    step1b_more = False
    if w.endswith("eed"):
        if _measure(w[:-3]) > 0:
            w = w[:-1]
    elif w.endswith("ed") and _has_vowel(w[:-2]):
        w, step1b_more = w[:-2], True
    elif w.endswith("ing") and _has_vowel(w[:-3]):
        w, step1b_more = w[:-3], True
    if step1b_more:
        if w.endswith(("at", "bl", "iz")):
            w += "e"
        elif _double_cons(w) and w[-1] not in "lsz":
            w = w[:-1]
        elif _measure(w) == 1 and _cvc(w):
            w += "e"
    # Step 1c
    if w.endswith("y") and _has_vowel(w[:-1]):
        w = w[:-1] + "i"
    # Steps 2-3
    w = _replace(w, _STEP2, 0)
    w = _replace(w, _STEP3, 0)
    # Step 4
    for suffix in _STEP4:
        if w.endswith(suffix):
            base = w[: len(w) - len(suffix)]
            if _measure(base) > 1 and (suffix != "ion" or base.endswith(("s", "t"))):
                w = base
            break
    # Step 5a
    if w.endswith("e"):
        base = w[:-1]
        m = _measure(base)
        if m > 1 or (m == 1 and not _cvc(base)):
            w = base
    # Step 5b
    if _measure(w) > 1 and _double_cons(w) and w.endswith("l"):
        w = w[:-1]
    return w
