"""The coach's learned model: held-out accuracy, real false alarms, linear cost, reproducible weights."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from lessonloop.signals import coach_model
from lessonloop.signals.coach import BLAME, VAGUE_ACTION, coach_text, split_sentences
from lessonloop.signals.coach_corpus import SHARED, corpus_sha256, load, written_rows

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import coach_eval  # noqa: E402

TARGET_PRECISION = 0.95
TARGET_RECALL = 0.85
# A guard against regressions, below what the shipped model measured on the test split
# (docs/coach.md, decision 52: blame P 0.964 / R 0.884, vague P 0.992 / R 0.930).
FLOOR_PRECISION = 0.95
FLOOR_RECALL = 0.80


def kinds(text: str) -> set[str]:
    return {f.kind for f in coach_text(text)}


@pytest.fixture(scope="module")
def test_split_scores() -> dict[str, dict[str, float]]:
    rows = [r for r in written_rows() if r.split == "test"]
    predicted = coach_eval.flags(rows)
    return {label: coach_eval.scores(rows, predicted, label) for label in ("blame", "vague_action")}


# ---- the model decides ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "If Farah had looked at the stock report, we would never have oversold the jackets.",
        # A known miss until decision 50, whose corpus has the shape "{Role} {past}, as you'd
        # expect." (written from the limits in docs/coach.md), so this one is not independent.
        "The new hire wiped the shared drive, as you'd expect.",
        "The double charge was caused by Piotr.",
        "The stock-out was due to human error on the part of the purchasing clerk.",
    ],
)
def test_blame_families_beyond_the_rules_are_flagged(text: str) -> None:
    assert BLAME in kinds(text)


@pytest.mark.parametrize("text", ["Look at it.", "Do more QA.", "Try to be faster.", "Be more careful."])
def test_terse_vague_actions_are_flagged(text: str) -> None:
    assert VAGUE_ACTION in kinds(text)


@pytest.mark.parametrize(
    "text",
    [
        "Priya paged the on-call at 14:05.",
        "Marketing moved the launch date after the survey.",
        "Add a rollback test.",
        "Page on-call at 5% errors.",
        "If the alert had fired at 5%, we would have caught it in minutes.",
    ],
)
def test_people_named_neutrally_and_concrete_actions_are_not_flagged(text: str) -> None:
    assert kinds(text) == set()


def test_a_sentence_no_rule_explains_gets_a_whole_sentence_finding() -> None:
    text = "Root cause was the intern."
    findings = [f for f in coach_text(text) if f.kind == BLAME]
    assert findings
    for f in findings:
        assert text[f.start : f.end] == f.text
        assert f.why and f.suggestion


# ---- held-out measures ----------------------------------------------------------------------


def test_test_split_stays_above_the_measured_floor(test_split_scores: dict[str, dict[str, float]]) -> None:
    for label, m in test_split_scores.items():
        assert m["precision"] >= FLOOR_PRECISION, (label, m)
        assert m["recall"] >= FLOOR_RECALL, (label, m)


def test_test_split_meets_the_issue_targets(test_split_scores: dict[str, dict[str, float]]) -> None:
    for label, m in test_split_scores.items():
        assert m["precision"] >= TARGET_PRECISION, (label, m)
        assert m["recall"] >= TARGET_RECALL, (label, m)


def test_the_coach_rarely_flags_its_own_suggestions() -> None:
    # A rewrite the coach offers and then flags teaches people nothing (decision 61: 98 of 1,707
    # were flagged before the corpus carried a few suggestions per rule as blameless). The rules
    # whose suggestions never entered training (their group is in the test split) are held out.
    own = coach_eval.own_suggestions(load())
    for key, bound in (("test", 0.03), ("all", 0.01)):
        flagged, total = own[key]
        assert total > 100 and flagged <= bound * total, (key, flagged, total)


@pytest.mark.data
@pytest.mark.skipif(not SHARED.is_dir(), reason="needs ../shared/data (real post-mortems)")
def test_real_post_mortem_false_alarms_at_most_one_percent() -> None:
    rows = [r for r in load() if r.source == "real" and r.split in {"dev", "test"}]
    assert len(rows) > 500
    flagged, total = coach_eval.real_false_alarms(rows, coach_eval.flags(rows))
    assert flagged / total <= 0.01, (flagged, total)


# ---- cost ----------------------------------------------------------------------------------


def _features_computed(text: str, monkeypatch: pytest.MonkeyPatch) -> int:
    count = 0
    original = coach_model.features

    def counting(sentence: str, rules: object = (), vocab: frozenset[str] = frozenset()) -> list[str]:
        nonlocal count
        out = original(sentence, rules, vocab)  # type: ignore[arg-type]
        count += len(out)
        return out

    monkeypatch.setattr(coach_model, "features", counting)
    coach_text(text)
    return count


@pytest.mark.parametrize(
    "unit",
    [
        "Bob was careless with the deploy. Be more careful. The disk filled up at 02:10. ",
        "word " * 40,  # no sentence end at all: cut at whitespace every 500 characters
    ],
)
def test_work_is_linear_in_the_length_of_the_text(unit: str, monkeypatch: pytest.MonkeyPatch) -> None:
    once = _features_computed(unit * 20, monkeypatch)
    ten = _features_computed(unit * 200, monkeypatch)
    assert once > 0
    assert 9 * once <= ten <= 11 * once


def test_features_of_a_sentence_are_bounded_by_its_length() -> None:
    sentence = "The intern dropped the ball on the renewal, again, at 14:05 on Friday."
    assert len(coach_model.features(sentence)) <= 4 * len(sentence) + 8


def test_sentences_are_cut_so_one_model_call_reads_at_most_500_characters() -> None:
    assert max(e - s for s, e in split_sentences("x " * 5000)) <= 500


# ---- the shipped weights ---------------------------------------------------------------------


def test_shipped_model_was_trained_on_the_current_corpus() -> None:
    assert coach_model.load_model().corpus_sha256 == corpus_sha256(), (
        "corpus/coach changed: run .venv/bin/python scripts/train_coach.py"
    )


def test_written_corpus_is_what_its_sources_build() -> None:
    # corpus_sha256 fingerprints written.jsonl; this ties that file to its sources (the templates,
    # handwritten.tsv, handwritten_d.tsv, the folded fresh_holdout.tsv), so an edited source that
    # was not rebuilt cannot hide behind a matching hash.
    spec = importlib.util.spec_from_file_location("coach_written", ROOT / "corpus" / "coach" / "written.py")
    assert spec is not None and spec.loader is not None
    written = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(written)
    built = written.dumps(written.build())
    assert built == (ROOT / "corpus" / "coach" / "written.jsonl").read_text(encoding="utf-8"), (
        "corpus/coach sources changed: run .venv/bin/python corpus/coach/written.py, then scripts/train_coach.py"
    )


@pytest.mark.data
@pytest.mark.skipif(not SHARED.is_dir(), reason="needs ../shared/data (real post-mortems)")
@pytest.mark.skipif(importlib.util.find_spec("sklearn") is None, reason="needs scikit-learn (dev extra)")
def test_shipped_model_equals_a_fresh_training_run() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "train_coach.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "matches a fresh training run" in done.stdout


# ---- the grammar's shapes (decision 61): who a cause, a "would have" or a role compound is about


def grammar_of(sentence: str) -> list[str]:
    return [f for f in coach_model.features(sentence) if f.startswith("g:")]


@pytest.mark.parametrize(
    ("sentence", "who"),
    [
        ("The outage happened because Marcus pushed the config change.", "P"),
        ("The shortfall is down to the investigators not screening.", "P"),
        ("The ambulance went to the wrong address because the call-taker skipped the postcode.", "P"),
        ("The deploy failed because the certificate had expired.", "N"),
        ("The delay was due to a missing fuel figure in the system.", "N"),
    ],
)
def test_a_cause_is_read_as_pinned_on_a_person_or_not(sentence: str, who: str) -> None:
    grammar = grammar_of(sentence)
    assert f"g:cause {who}" in grammar
    assert f"g:cause {'N' if who == 'P' else 'P'}" not in grammar


def test_thanks_to_is_not_read_as_a_cause() -> None:
    assert not any(
        f.startswith("g:cause") for f in grammar_of("Thanks to the night shift, we were back by six.")
    )


def test_what_a_person_would_have_done_differs_from_what_a_system_would_have() -> None:
    assert "g:modal_have P" in grammar_of("A competent stockman would have noticed the lameness.")
    assert "g:modal_have P" in grammar_of("The driver should've checked the manifest.")
    assert "g:modal_have N" in grammar_of("The alert would have caught it in minutes.")


def test_told_and_still_is_one_shape_for_any_wording() -> None:
    assert "g:told_still" in grammar_of("The coordinator was reminded three times and still filed it late.")
    assert "g:told_still" not in grammar_of("The coordinator was reminded about the new deadline on Monday.")
    assert "g:told_still" not in grammar_of("It still failed after the restart.")


@pytest.mark.parametrize(
    ("sentence", "token"),
    [("The call-taker missed it.", "call-taker"), ("The head of design said no.", "head")],
)
def test_role_compounds_and_head_of_are_roles(sentence: str, token: str) -> None:
    assert dict(coach_model._words(sentence))[token] == "<role>"


def test_a_first_word_is_a_name_only_when_it_is_not_an_ordinary_word() -> None:
    vocab = coach_model.load_model().vocab
    assert "backup" in vocab and "bob" not in vocab

    def first(sentence: str) -> str:
        return coach_model._words(sentence, vocab)[0][1]

    assert first("Bob failed to check the replica lag.") == "<name>"
    assert first("Backup failed to start.") == "backup"
    assert first("Kubernetes failed to schedule the pod.") == "kubernetes"  # a product, not a name
    assert first("Replication stopped at 02:10.") == "replication"
    # without a dictionary (the grammar's unit tests) the first word is never a name
    assert coach_model._words("Bob failed.")[0][1] == "bob"


def test_a_name_at_the_start_of_a_sentence_is_read_as_a_person() -> None:
    # "Bob failed to check" was 0.005 before the first word could be a name (decision 61)
    assert [f.kind for f in coach_text("Bob failed to check the replica lag.")] == [BLAME]
    assert coach_text("Backup failed to start.") == []


def test_a_head_that_is_not_a_head_of_something_is_not_a_role() -> None:
    assert dict(coach_model._words("The print head jammed."))["head"] == "head"
