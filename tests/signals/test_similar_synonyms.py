"""Similar failures understand the field's words: abbreviations and synonyms, on both backends."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy.orm import Session

from lessonloop.failures.service import log_failure
from lessonloop.signals import similar, synonyms
from lessonloop.signals.similar import Query, _AnyOf, similar_failures
from lessonloop.signals.synonyms import GROUPS, Synonyms, canonical_counts, canonical_terms
from tests.factories import SYSTEM

ROOT = Path(__file__).resolve().parents[2]


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "similar_paraphrases", ROOT / "bench" / "similar_paraphrases.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("similar_paraphrases", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def no_synonyms() -> Iterator[None]:
    saved = similar.SYNONYMS
    similar.SYNONYMS = synonyms.NONE
    try:
        yield
    finally:
        similar.SYNONYMS = saved


# --- the list and the folding -------------------------------------------------------------------


def test_variants_fold_into_one_term() -> None:
    def terms(text: str) -> list[str]:
        return [t for t, _ in canonical_terms(text)]

    assert terms("DB") == terms("database") == terms("databases")
    assert terms("k8s") == terms("Kubernetes")
    assert terms("deploy") == terms("deployment") == terms("release") == terms("shipped") == terms("rollout")
    assert terms("slipped") == terms("missed") == terms("late") == terms("delayed") == terms("overdue")
    assert terms("outage") == terms("downtime") == terms("unavailable")
    assert terms("prod") == terms("production") != terms("product")  # exact words, not stems
    assert terms("missed") != terms("missing")
    # several words, stop words inside them included; the longest variant wins
    assert terms("the go-live slipped") == terms("launch") + terms("late")
    assert terms("it was handed over") == terms("handoff")
    assert terms("the on-call engineer") == terms("oncall") + terms("engineer")
    assert [s for _, s in canonical_terms("Handed over to on call")] == ["handed over", "on call"]
    # words outside the list are the usual stems, stop words dropped
    assert terms("The routers crashed") == ["router", *terms("crash")]


def test_counts_fold_synonyms() -> None:
    counts = canonical_counts("DB down: the database was unavailable, an outage of the db")
    assert counts[canonical_terms("database")[0][0]] == 3
    assert counts[canonical_terms("outage")[0][0]] == 2  # "unavailable", "outage"
    assert sum(canonical_counts("DB outage", synonyms.NONE).values()) == 2
    assert canonical_terms("db", synonyms.NONE) == [("db", "db")]


def test_a_variant_in_two_groups_is_refused() -> None:
    with pytest.raises(ValueError, match="two groups"):
        Synonyms.build([("deploy", "ship"), ("boat", "ship")])
    assert len(Synonyms.build(GROUPS)) == len(GROUPS)  # the maintained list is consistent


def test_index_is_asked_for_every_variant_without_stop_words() -> None:
    table = synonyms.DEFAULT
    handoff = canonical_terms("handoff")[0][0]
    assert table.alternatives(handoff) == (("handoff",), ("handover",))  # "hand over": "over" is a stop word
    launch = canonical_terms("launch")[0][0]
    assert ("go", "live") in table.alternatives(launch)
    query = Query.parse("k8s outage")
    k8s = canonical_terms("k8s")[0][0]
    match = query.match[k8s]
    assert isinstance(match, _AnyOf)
    assert match.sqlite() == '("kubernetes" OR "k8s" OR "kube")'
    assert match.postgres() == "(kubernetes | k8s | kube)"
    assert _AnyOf((("go", "live"), ("launch",))).sqlite() == '("go live" OR "launch")'
    assert _AnyOf((("go", "live"), ("launch",))).postgres() == "((go <-> live) | launch)"
    assert query.surface[k8s] == "k8s"  # shown as written


# --- retrieval on both backends -----------------------------------------------------------------

STORED = [
    ("k8s", "Kubernetes control plane downtime", "The cluster's API server was unreachable for an hour."),
    ("late", "Quarterly newsletter went out overdue", "Legal approval took a week."),
    ("handoff", "Customer escalation lost at the shift handover", "Nobody called back."),
    ("other", "Office printer jammed", "Toner everywhere."),
]


def _store(session: Session) -> dict[str, int]:
    return {
        ext: log_failure(session, title=title, observation=text, external_id=ext, viewer=SYSTEM).id
        for ext, title, text in STORED
    }


def _found(session: Session, title: str) -> list[str]:
    return [m.external_id or "" for m in similar_failures(session, title=title, limit=3, viewer=SYSTEM)]


def test_an_abbreviation_finds_the_failure_told_in_full(session: Session) -> None:
    _store(session)
    assert _found(session, "K8s outage")[:1] == ["k8s"]  # no word in common
    assert _found(session, "The newsletter slipped by a week")[:1] == ["late"]
    assert _found(session, "Escalation dropped when the shift was handed over")[:1] == ["handoff"]


def test_without_synonyms_the_same_queries_miss(session: Session, no_synonyms: None) -> None:
    """The check above is not vacuous: with the table emptied, the words share nothing."""
    _store(session)
    assert _found(session, "K8s outage") == []
    assert "handoff" not in _found(session, "Dropped at handed over time")


# --- the paraphrase set -------------------------------------------------------------------------


def test_the_paraphrase_set_is_as_described() -> None:
    bench = _bench()
    records: list[dict[str, Any]] = bench.read()
    pairs: dict[str, int] = {}
    for rec in records:
        if rec["pair"]:
            pairs[rec["pair"]] = pairs.get(rec["pair"], 0) + 1
    assert len(pairs) >= 60 and set(pairs.values()) == {2}
    assert sum(1 for r in records if not r["pair"]) >= 100
    assert len({r["id"] for r in records}) == len(records)
    splits = {bench.split(p) for p in pairs}
    assert splits == {"dev", "test"}
    assert bench.split("db-disk") == bench.split("db-disk")  # stable: no salted hash


def test_partner_in_the_top_3_for_95_percent_of_paraphrases(session: Session) -> None:
    bench = _bench()
    records = bench.read()
    ids = bench.load(session, records)
    scores = bench.evaluate(session, records, ids)
    overall = scores["all"]
    assert overall.queries == 2 * len({r["pair"] for r in records if r["pair"]})
    assert overall.rate >= 0.95, "\n".join(overall.misses)
    assert scores["test"].rate >= 0.90, "\n".join(scores["test"].misses)
