"""Measure the coach: precision, recall and F1 on the labelled set, flag rates on real post-mortems.

    .venv/bin/python bench/coach_eval.py [--errors] [--sample N] [--all-flags]

The labelled set is ``tests/signals/coach_labelled.jsonl``; a sentence counts as flagged for a
kind when ``coach_text`` returns at least one finding of that kind. If ``../shared/data/*.jsonl``
exists (real public post-mortems, read in place and never copied), every record's ``text`` is
split into sentences and the flagged ones are counted and sampled, so false alarms on real,
mostly blameless technical prose can be inspected.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from lessonloop.signals.coach import BLAME, VAGUE_ACTION, coach_text, split_sentences  # noqa: E402

LABELLED = ROOT / "tests" / "signals" / "coach_labelled.jsonl"
SHARED = ROOT.parent / "shared" / "data"
KINDS = {BLAME: "blame", VAGUE_ACTION: "vague_action"}


def load_labelled(path: Path = LABELLED) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def prf(rows: list[dict], kind: str) -> dict[str, float | int]:
    label = KINDS[kind]
    tp = fp = fn = tn = 0
    for row in rows:
        predicted = any(f.kind == kind for f in coach_text(row["text"]))
        actual = bool(row[label])
        if predicted and actual:
            tp += 1
        elif predicted:
            fp += 1
        elif actual:
            fn += 1
        else:
            tn += 1
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "tn": tn, "precision": precision, "recall": recall, "f1": f1}


def report_labelled(rows: list[dict], show_errors: bool) -> None:
    splits = Counter(row.get("split", "main") for row in rows)
    print(
        f"Labelled set: {LABELLED.relative_to(ROOT)} ({len(rows)} sentences; "
        + ", ".join(f"{n} {name}" for name, n in sorted(splits.items()))
        + ")"
    )
    groups: list[tuple[str, list[dict]]] = [("all", rows)]
    if len(splits) > 1:
        groups += [(name, [r for r in rows if r.get("split", "main") == name]) for name in sorted(splits)]
    print(
        f"{'subset':<10} {'kind':<13} {'pos':>4} {'tp':>4} {'fp':>4} {'fn':>4} {'precision':>10} {'recall':>7} {'F1':>6}"
    )
    for name, subset in groups:
        for kind, label in KINDS.items():
            m = prf(subset, kind)
            pos = sum(1 for r in subset if r[label])
            print(
                f"{name:<10} {label:<13} {pos:>4} {m['tp']:>4} {m['fp']:>4} {m['fn']:>4} "
                f"{m['precision']:>10.3f} {m['recall']:>7.3f} {m['f1']:>6.3f}"
            )
    if show_errors:
        for kind, label in KINDS.items():
            print(f"\n-- {label}: errors")
            for row in rows:
                found = [f for f in coach_text(row["text"]) if f.kind == kind]
                if bool(found) != bool(row[label]):
                    tag = "FP" if found else "FN"
                    hits = "; ".join(repr(f.text) for f in found)
                    print(f"  {tag} {row['text']}" + (f"   <- {hits}" if hits else ""))


def report_real(sample: int, show_all: bool) -> None:
    files = sorted(SHARED.glob("*.jsonl")) if SHARED.is_dir() else []
    if not files:
        print(f"\nReal post-mortems: {SHARED} not found; skipped.")
        return
    sentences = 0
    records = 0
    flagged: list[tuple[str, str, str, list[str]]] = []  # (record id, kinds, sentence, phrases)
    by_kind: Counter[str] = Counter()
    records_flagged: set[str] = set()
    for path in files:
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                record = json.loads(line)
                records += 1
                text = record.get("text") or ""
                findings = coach_text(text)
                for s, e in split_sentences(text):
                    sentences += 1
                    inside = [f for f in findings if s <= f.start < e]
                    if not inside:
                        continue
                    kinds = sorted({KINDS[f.kind] for f in inside})
                    for k in kinds:
                        by_kind[k] += 1
                    records_flagged.add(record["id"])
                    flagged.append(
                        (record["id"], "+".join(kinds), " ".join(text[s:e].split()), [f.text for f in inside])
                    )
    print(
        f"\nReal post-mortems: {', '.join(p.name for p in files)} ({records} records, {sentences} sentences)"
    )
    print(
        f"flagged sentences: {len(flagged)} ({100 * len(flagged) / max(1, sentences):.2f}%) in "
        f"{len(records_flagged)} records; blame: {by_kind['blame']}, vague_action: {by_kind['vague_action']}"
    )
    shown = flagged if show_all else random.Random(0).sample(flagged, min(sample, len(flagged)))
    if shown:
        print(f"{'all' if show_all else 'sample of'} {len(shown)} flagged sentence(s):")
    for rid, kinds, sentence, phrases in shown:
        short = sentence if len(sentence) <= 240 else sentence[:237] + "..."
        print(f"  [{kinds}] {rid}: {short}\n      phrases: {phrases}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", action="store_true", help="list misclassified labelled sentences")
    parser.add_argument("--sample", type=int, default=15, help="flagged real sentences to show (default 15)")
    parser.add_argument("--all-flags", action="store_true", help="show every flagged real sentence")
    args = parser.parse_args(argv)
    report_labelled(load_labelled(), args.errors)
    report_real(args.sample, args.all_flags)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
