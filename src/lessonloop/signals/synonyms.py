"""The field's words: abbreviations and synonyms that similar-failure retrieval treats as one term.

Each group below is one meaning; its first entry names it. A variant is a word or a few words
("go live", "hand over"). Variants are compared by their Porter stems (:mod:`lessonloop.signals.text`),
so "deployed", "deploying" and "deployment" need no entries of their own; a variant written
``=word`` is compared as that exact word instead (no stemming): "production" stems to "product"
and "missing" shares "missed"'s stem, so those are listed exactly.

:func:`canonical_terms` turns text into the ranking's terms with every variant replaced by its
group's canonical term; :mod:`lessonloop.signals.similar` applies it to the stored failures'
fields (index side) and to the query alike, and asks the full-text index for any of a group's
variants (:meth:`Synonyms.alternatives`), so the same failure told in other words is retrieved
and ranked as if the words were the same.

Maintaining the list: add a group (or a variant to a group) when two words mean the same thing
*in a failure report* nearly everywhere they occur. A word with a second, common meaning (e.g.
"build" a house, "target" host) makes unrelated reports look alike, so think twice, and run
``bench/similar_paraphrases.py`` and ``bench/similar_eval.py`` before and after (docs/similar.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from lessonloop.signals.text import STOP_WORDS, stem, words

#: The maintained list: one tuple per meaning, the canonical word first.
GROUPS: tuple[tuple[str, ...], ...] = (
    # --- software and operations
    ("database", "db", "rdbms", "datastore", "data store"),
    ("postgres", "postgresql", "pg"),
    ("deploy", "deployment", "release", "ship", "rollout", "roll out", "rolled out", "push to prod"),
    ("rollback", "roll back", "rolled back", "revert", "backout", "back out"),
    ("outage", "downtime", "down time", "unavailable", "unavailability", "went down", "blackout"),
    ("kubernetes", "k8s", "kube"),
    ("configuration", "config", "cfg", "conf", "=settings"),
    ("misconfiguration", "misconfig", "misconfigured"),
    ("=production", "=prod", "live environment"),
    ("=staging", "=preprod", "pre production"),
    ("authentication", "auth", "authn", "login", "log in", "logon", "sign in", "signin", "sso"),
    ("certificate", "cert", "certs"),
    ("tls", "ssl", "https"),
    ("dns", "nameserver", "name server", "domain name", "resolver"),
    ("ci", "pipeline", "build", "continuous integration", "jenkins"),
    ("timeout", "time out", "timed out", "time-out"),
    ("latency", "slowness", "slow", "sluggish", "lag", "response time"),
    ("crash", "crashed", "fell over", "segfault", "panic"),
    ("memory", "ram", "oom", "out of memory"),
    ("disk", "storage", "hard drive", "disk space"),
    ("cpu", "processor"),
    ("datacenter", "data center", "dc"),
    ("vm", "virtual machine"),
    ("environment", "env"),
    ("repository", "repo"),
    ("infrastructure", "infra"),
    ("application", "app"),
    ("frontend", "front end"),
    ("backend", "back end"),
    ("ui", "user interface"),
    ("alert", "alarm", "pager", "paging", "alerting"),
    ("oncall", "on call"),
    ("throttle", "rate limit", "ratelimit", "rate limiting"),
    ("spike", "surge", "burst"),
    ("credential", "password", "passwd", "creds", "secret"),
    ("expire", "expiry", "expiration", "lapse", "lapsed"),
    ("backup", "back up", "snapshot"),
    ("bug", "defect", "glitch"),
    ("hotfix", "patch", "quick fix"),
    ("test", "qa", "quality assurance", "testing"),
    ("documentation", "docs", "doc", "runbook", "playbook", "wiki"),
    ("postmortem", "post mortem", "retrospective", "retro", "rca", "root cause analysis"),
    ("sla", "service level"),
    ("javascript", "js"),
    ("email", "e mail", "mail"),
    # --- delivery, planning and any team
    ("late", "slip", "=missed", "delay", "overdue", "behind schedule"),
    ("deadline", "due date", "cutoff", "cut off"),
    ("launch", "go live", "went live", "going live", "golive", "launched"),
    ("handoff", "handover", "hand off", "hand over", "handed over", "handed off"),
    ("miscommunication", "misunderstanding", "crossed wires"),
    ("approval", "approve", "signoff", "sign off", "signed off"),
    ("estimate", "forecast", "projection"),
    ("requirement", "spec", "specification", "reqs"),
    # --- customers, sales, people
    ("churn", "cancellation", "cancel", "unsubscribe", "unsubscribed"),
    ("signup", "sign up", "registration", "register", "enrollment", "enrolment"),
    ("hire", "recruit", "recruitment", "recruiting", "hiring"),
    ("turnover", "attrition", "resign", "resignation", "=quit", "=quits"),
    ("staff", "employee", "personnel", "headcount", "workforce"),
    ("quota", "target"),
    ("vendor", "supplier", "third party", "contractor"),
    ("invoice", "bill", "billing"),
    ("payroll", "salary", "wage", "wages"),
    ("inventory", "stock", "stockout", "out of stock"),
    ("coupon", "discount", "promo", "voucher", "promo code"),
    ("ticket", "support request", "support case"),
    ("customer", "client"),
    ("vacation", "holiday", "pto", "time off"),
    ("spreadsheet", "excel"),
    ("survey", "questionnaire"),
)


def _key(variant: str) -> tuple[str, ...]:
    """A variant's match key: its words' stems, or the exact words after ``=``."""
    if variant.startswith("="):
        return tuple(words(variant[1:]))
    return tuple(stem(w) for w in words(variant))


def _add(table: dict[Any, str], key: Any, canonical: str, variant: str) -> None:
    if table.get(key, canonical) != canonical:
        raise ValueError(f"synonym variant {variant!r} is in two groups")
    table[key] = canonical


@dataclass(frozen=True, eq=False)  # hashed by identity: a cache key
class Synonyms:
    """A synonym table: variant keys (stems, or exact words) → canonical term.

    ``exact``: one-word variants matched as the word itself; ``stems``: one-word variants matched
    by stem; ``phrases``: variants of several words, matched by the words' stems, longest first.
    """

    exact: dict[str, str]
    stems: dict[str, str]
    phrases: dict[tuple[str, ...], str]
    longest: int
    starts: frozenset[str]  # the first words (stems) of ``phrases``
    #: canonical term → the variants as written (no ``=``), for the full-text index
    written: dict[str, tuple[str, ...]]

    @classmethod
    def build(cls, groups: Iterable[Sequence[str]]) -> Synonyms:
        exact: dict[str, str] = {}
        stems: dict[str, str] = {}
        phrases: dict[tuple[str, ...], str] = {}
        written: dict[str, tuple[str, ...]] = {}
        for group in groups:
            first = _key(group[0])
            canonical = " ".join(first)
            forms: list[str] = []
            for variant in group:
                key = _key(variant)
                if not key:
                    continue
                plain = variant.lstrip("=")
                if plain not in forms:
                    forms.append(plain)
                if len(key) > 1:
                    _add(phrases, key, canonical, variant)
                else:
                    _add(exact if variant.startswith("=") else stems, key[0], canonical, variant)
            written[canonical] = tuple(forms)
        longest = max((len(k) for k in phrases), default=1)
        return cls(exact, stems, phrases, longest, frozenset(k[0] for k in phrases), written)

    def alternatives(self, canonical: str) -> tuple[tuple[str, ...], ...]:
        """What the full-text index is asked for a canonical term: each variant as its words
        (a phrase when several). Variants with a stop word in them ("hand over") are left out:
        PostgreSQL's ``english`` configuration drops stop words, SQLite's index keeps them, and
        both must match the same documents; the words around them still match in ranking."""
        out: list[tuple[str, ...]] = []
        for form in self.written.get(canonical, ()):
            parts = tuple(words(form))
            if parts and not any(w in STOP_WORDS or len(w) < 2 or w.isdigit() for w in parts):
                out.append(parts)
        return tuple(out)

    def __len__(self) -> int:
        return len(self.written)


#: The table similar-failure retrieval uses (``similar.SYNONYMS``; an empty table turns it off).
DEFAULT = Synonyms.build(GROUPS)
NONE = Synonyms.build(())


def canonical_words(text: str, table: Synonyms = DEFAULT) -> list[tuple[str | None, str]]:
    """``(term, surface)`` for each word of ``text`` in order: the term is the word's Porter
    stem, or the canonical term of the synonym group the word (or the words starting at it,
    longest first) belongs to; ``None`` for a stop word, a single character or a number (as
    :func:`lessonloop.signals.text.tokens` drops them) unless part of a variant ("on call",
    "e mail"). The surface is the word(s) as written, lower-cased."""
    raw = words(text)
    out: list[tuple[str | None, str]] = []
    i, n = 0, len(raw)
    while i < n:
        if table.starts and _stem(raw[i]) in table.starts:
            matched = False
            for size in range(min(table.longest, n - i), 1, -1):
                key = tuple(_stem(w) for w in raw[i : i + size])
                canonical = table.phrases.get(key)
                if canonical is not None:
                    out.append((canonical, " ".join(raw[i : i + size])))
                    i += size
                    matched = True
                    break
            if matched:
                continue
        word = raw[i]
        i += 1
        canonical = table.exact.get(word)
        if canonical is not None:
            out.append((canonical, word))
        elif len(word) < 2 or word in STOP_WORDS or word.isdigit():
            out.append((None, word))
        else:
            term = _stem(word)
            out.append((table.stems.get(term, term), word))
    return out


def canonical_terms(text: str, table: Synonyms = DEFAULT) -> list[tuple[str, str]]:
    """The content words of :func:`canonical_words`: ``(term, surface)``, in order."""
    return [(term, surface) for term, surface in canonical_words(text, table) if term is not None]


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return stem(word)


def canonical_counts(text: str, table: Synonyms = DEFAULT) -> Counter[str]:
    """Term counts of ``text`` with synonyms folded (see :func:`canonical_terms`)."""
    return Counter(term for term, _ in canonical_terms(text, table))
