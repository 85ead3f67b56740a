"""Per-part precision and recall of the action-specificity checks on the labelled set.

    .venv/bin/python bench/specificity_eval.py           # a table per split
    .venv/bin/python bench/specificity_eval.py --json    # the same figures as JSON
    .venv/bin/python bench/specificity_eval.py --errors dev   # the titles a split gets wrong

The labelled set (tests/signals/specificity_labelled.jsonl) is split once by a stable hash of the
title: 60% train, 20% dev, 20% test. Two more sets of titles (tests/signals/specificity_fresh.jsonl)
were written after the checks were frozen: "fresh1" (its misses led to one change of the verb
check) and "fresh2" (written after that change, evaluated once, never tuned on).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from lessonloop.signals.specificity import measurable_part, verb_part

LABELLED = Path(__file__).resolve().parents[1] / "tests" / "signals" / "specificity_labelled.jsonl"
#: Titles written after the checks were frozen, in two rounds: round 1 was evaluated, and its
#: misses made the verb check a deny-list (so it is no longer untouched); round 2 was written after
#: that change and evaluated once, never tuned on (docs/metrics.md).
FRESH = LABELLED.with_name("specificity_fresh.jsonl")
SPLITS = ("train", "dev", "test", "fresh1", "fresh2")
PARTS = {
    "verb_concrete": lambda title: verb_part(title) is not None,
    "measurable": lambda title: measurable_part(title) is not None,
}


def split_of(title: str) -> str:
    """The split a title belongs to, fixed by a hash of its text (never by its labels)."""
    if title in _FRESH_ROUNDS:
        return f"fresh{_FRESH_ROUNDS[title]}"
    bucket = int(hashlib.sha256(title.encode("utf-8")).hexdigest(), 16) % 10
    return "train" if bucket < 6 else "dev" if bucket < 8 else "test"


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


_FRESH_ROUNDS = {row["title"]: int(row["round"]) for row in _read(FRESH)}


def load() -> list[dict[str, Any]]:
    """The labelled set, then the fresh titles."""
    return _read(LABELLED) + _read(FRESH)


def evaluate(rows: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, float | int]]]:
    """Per split and part: n, accuracy, precision, recall (of the positive label)."""
    out: dict[str, dict[str, dict[str, float | int]]] = {}
    for split in SPLITS:
        chosen = [r for r in rows if split_of(r["title"]) == split]
        out[split] = {}
        for part, check in PARTS.items():
            tp = fp = fn = tn = 0
            for row in chosen:
                said, truth = check(row["title"]), bool(row[part])
                tp += said and truth
                fp += said and not truth
                fn += truth and not said
                tn += not said and not truth
            n = len(chosen)
            out[split][part] = {
                "n": n,
                "accuracy": round((tp + tn) / n, 3) if n else 0.0,
                "precision": round(tp / (tp + fp), 3) if tp + fp else 1.0,
                "recall": round(tp / (tp + fn), 3) if tp + fn else 1.0,
            }
    return out


def errors(rows: list[dict[str, Any]], split: str) -> list[str]:
    wrong = []
    for row in rows:
        if split_of(row["title"]) != split:
            continue
        for part, check in PARTS.items():
            if check(row["title"]) != bool(row[part]):
                wrong.append(f"{part}: expected {row[part]}: {row['title']}")
    return wrong


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--errors", choices=("train", "dev"), help="list the misses of a tuning split")
    args = parser.parse_args(argv)
    rows = load()
    if args.errors:
        print("\n".join(errors(rows, args.errors)) or "no errors")
        return 0
    result = evaluate(rows)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{len(rows)} labelled action titles ({LABELLED.name}, {FRESH.name})")
    print(f"{'split':<6} {'part':<14} {'n':>4} {'accuracy':>9} {'precision':>10} {'recall':>7}")
    for split in SPLITS:
        for part, m in result[split].items():
            print(
                f"{split:<6} {part:<14} {m['n']:>4} {m['accuracy']:>9.3f} {m['precision']:>10.3f} {m['recall']:>7.3f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
