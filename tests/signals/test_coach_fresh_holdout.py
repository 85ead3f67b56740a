"""The coach's fresh held-out set: it parses, has the promised size and mix, and can be measured.

The set (``corpus/coach/fresh_holdout.tsv``) was written without reading the training corpus and
is measured by ``bench/coach_eval.py --fresh``. These tests never assert on the model's scores:
a floor here would invite tuning the model until the set passes, which would end its use as a
held-out measurement.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

import pytest

from lessonloop.signals.coach_corpus import Row, written_rows

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import coach_eval  # noqa: E402

# The families issue #15 names, each of which must be represented in the set.
ISSUE_FAMILIES = {
    "blame": {"counterfactual", "role_noun", "department", "passive_caused_by", "human_error", "sarcasm"},
    "vague": {"terse", "be_better", "communication", "generic_process"},
    "neither": {"neutral_people", "timeline", "specific_action", "quoted_blame", "negation"},
}


def label_of(row: Row) -> str:
    return "blame" if row.blame else "vague" if row.vague_action else "neither"


def normalise(text: str) -> str:
    """Lower case, words only: "Look at it." and "look at it!" are the same sentence."""
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


@pytest.fixture(scope="module")
def fresh() -> list[Row]:
    return coach_eval.load_fresh()


def test_the_file_parses_into_at_least_600_rows(fresh: list[Row]) -> None:
    assert coach_eval.FRESH.is_file()
    assert len(fresh) >= 600
    assert all(r.source == "fresh" and r.split == "fresh" for r in fresh)
    assert not any(r.blame and r.vague_action for r in fresh)


def test_the_label_mix_is_about_35_25_40(fresh: list[Row]) -> None:
    share = {label: n / len(fresh) for label, n in Counter(map(label_of, fresh)).items()}
    assert 0.30 <= share["blame"] <= 0.40
    assert 0.20 <= share["vague"] <= 0.30
    assert 0.35 <= share["neither"] <= 0.45


def test_every_family_the_issue_names_is_present(fresh: list[Row]) -> None:
    present = {(label_of(r), r.family) for r in fresh}
    for label, families in ISSUE_FAMILIES.items():
        assert {(label, f) for f in families} <= present


def test_no_fresh_sentence_is_a_training_sentence(fresh: list[Row]) -> None:
    # Written independently; this guards against a copy slipping in later.
    written = {normalise(r.text) for r in written_rows()}
    assert [r.text for r in fresh if normalise(r.text) in written] == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("label\tfamily\ttext\n", "header"),
        ("label\tfamily\tdomain\ttext\nblame\trole_noun\tsoftware\n", "4 tab-separated"),
        ("label\tfamily\tdomain\ttext\nrude\tx\tsales\tHi.\n", "unknown label"),
        ("label\tfamily\tdomain\ttext\nneither\tx\tsales\t \n", "empty"),
        ("label\tfamily\tdomain\ttext\nneither\tx\tsales\tHi.\nblame\ty\tsales\tHi.\n", "repeated"),
    ],
)
def test_a_malformed_file_is_refused_with_its_reason(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "fresh.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        coach_eval.load_fresh(path)


def test_fresh_scores_count_hits_misses_and_false_alarms() -> None:
    rows = [
        Row("a", True, False, "g1", "sarcasm", "fresh", "fresh"),
        Row("b", True, False, "g2", "sarcasm", "fresh", "fresh"),
        Row("c", False, True, "g3", "terse", "fresh", "fresh"),
        Row("d", False, False, "g4", "timeline", "fresh", "fresh"),
        Row("e", False, False, "g5", "negation", "fresh", "fresh"),
    ]
    predicted: list[set[str]] = [{"blame"}, set(), {"blame"}, {"vague_action"}, set()]
    result = coach_eval.fresh_scores(rows, predicted)
    blame, vague = result["blame"], result["vague_action"]
    assert isinstance(blame, dict) and isinstance(vague, dict)
    assert (blame["tp"], blame["fp"], blame["fn"]) == (1, 1, 1)
    assert (vague["tp"], vague["fp"], vague["fn"]) == (0, 1, 1)
    assert result["neither"] == (1, 2)
    assert result["misses"] == {"blame/sarcasm": 1, "vague_action/terse": 1}


def test_the_evaluation_runs_on_the_fresh_set(fresh: list[Row]) -> None:
    result = coach_eval.evaluate_fresh()
    assert result["sentences"] == len(fresh)
    counts = Counter(map(label_of, fresh))
    for label, name in (("blame", "blame"), ("vague_action", "vague")):
        m = result[label]
        assert isinstance(m, dict)
        assert m["pos"] == counts[name]
        assert m["tp"] + m["fn"] == counts[name]
    pair = result["neither"]
    assert isinstance(pair, tuple)
    flagged, total = pair
    assert total == counts["neither"] and 0 <= flagged <= total
