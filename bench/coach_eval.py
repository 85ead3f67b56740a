"""Measure the coach on its labelled corpus: train/dev/test precision and recall, real false alarms, speed.

    .venv/bin/python bench/coach_eval.py                 # the figures in docs/coach.md
    .venv/bin/python bench/coach_eval.py --errors dev    # also list dev's misclassified sentences

The corpus is ``corpus/coach`` (``lessonloop.signals.coach_corpus``), split once into
train/dev/test by a hash of each sentence's group. The shipped model is fitted on train and dev
(``scripts/train_coach.py``), so their lines are in-sample; the held-out estimate for them is the
out-of-fold cross-validation the trainer stored in the model file (printed too), and test is
the one split no choice ever saw. A sentence counts as flagged for a kind when
``coach_text`` returns at least one finding of that kind, i.e. this measures the whole coach (the
shipped model deciding, the rules explaining), not the model alone.

Real post-mortem sentences (``../shared/data``, read in place) are counted separately: the
false-alarm rate is the share of real sentences labelled neither blame nor vague that the coach
flags, reported for the records in dev and test (never trained on) and for all records.
Timing is printed, never asserted: milliseconds per sentence over the written corpus, on one core.

    .venv/bin/python bench/coach_eval.py --fresh         # only the fresh held-out set (below)

``--fresh`` measures the shipped coach on :data:`FRESH_HOLDOUT`
(``corpus/coach/fresh_holdout_7.tsv``) and nothing else (it does not touch the test split):
sentences written for issue #15 by someone who never saw the training corpus or the code, never
used to train, choose a threshold or pick a feature. It prints blame and vague-action precision
and recall, the false-alarm rate on the sentences labelled ``neither`` and the misses per family;
when the file is not there it says so and measures nothing. Nobody should tune on it: once a
change is made because of this set's figures or its missed sentences, it stops being held out.
The first such set, ``fresh_holdout.tsv``, was measured once (decision 50) and then folded into
the training corpus (decision 52); the second, ``fresh_holdout_2.tsv``, likewise (measured in
decision 52, folded in by decision 58), the third (decision 58, folded in by 59), the fourth
(decision 59, folded in by 60), the fifth (decision 60, folded in by 61) and the sixth (decision
61, folded in by 66); this constant is the one place that names the current one.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from lessonloop.signals.coach import BLAME, VAGUE_ACTION, coach_text, rule_findings, use_model  # noqa: E402
from lessonloop.signals.coach_corpus import Row, load, split_of, written_rows  # noqa: E402
from lessonloop.signals.coach_model import load_model  # noqa: E402

KINDS = {"blame": BLAME, "vague_action": VAGUE_ACTION}
# The current never-tuned-on set (decision 61). Its predecessors, fresh_holdout.tsv to
# fresh_holdout_5.tsv, are training data now.
FRESH_HOLDOUT = ROOT / "corpus" / "coach" / "fresh_holdout_7.tsv"
FRESH_COLUMNS = ["label", "family", "domain", "text"]
# The file's labels and the corpus label each one sets ("neither" sets none).
FRESH_LABELS = {"blame": "blame", "vague": "vague_action", "neither": None}


def flags(rows: list[Row]) -> list[set[str]]:
    """The labels the coach gives each row ("blame", "vague_action")."""
    out: list[set[str]] = []
    for row in rows:
        kinds = {f.kind for f in coach_text(row.text)}
        out.append({label for label, kind in KINDS.items() if kind in kinds})
    return out


def scores(rows: list[Row], predicted: list[set[str]], label: str) -> dict[str, float]:
    tp = sum(1 for r, p in zip(rows, predicted, strict=True) if r.label(label) and label in p)
    fp = sum(1 for r, p in zip(rows, predicted, strict=True) if not r.label(label) and label in p)
    fn = sum(1 for r, p in zip(rows, predicted, strict=True) if r.label(label) and label not in p)
    return {
        "pos": tp + fn,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
    }


def real_false_alarms(rows: list[Row], predicted: list[set[str]]) -> tuple[int, int]:
    """(flagged, total) over real sentences labelled neither blame nor vague."""
    pairs = [(r, p) for r, p in zip(rows, predicted, strict=True) if r.source == "real"]
    clean = [(r, p) for r, p in pairs if not r.blame and not r.vague_action]
    return sum(1 for _, p in clean if p), len(clean)


def evaluate(rows: list[Row]) -> dict[str, object]:
    """Every figure of the report, as data (the tests read it too)."""
    predicted = flags(rows)
    out: dict[str, object] = {}
    for split in ("train", "dev", "test"):
        idx = [i for i, r in enumerate(rows) if r.split == split and r.source != "real"]
        sub, pred = [rows[i] for i in idx], [predicted[i] for i in idx]
        out[split] = {label: scores(sub, pred, label) for label in KINDS} | {"sentences": len(sub)}
    for name, splits in (("real_held", {"dev", "test"}), ("real_all", {"train", "dev", "test"})):
        idx = [i for i, r in enumerate(rows) if r.split in splits]
        out[name] = real_false_alarms([rows[i] for i in idx], [predicted[i] for i in idx])
    out["predicted"] = predicted
    return out


def load_fresh(path: Path = FRESH_HOLDOUT) -> list[Row]:
    """The fresh held-out set as corpus rows (source and split ``"fresh"``, one group per line).

    It is read here and not in ``lessonloop.signals.coach_corpus`` on purpose: the trainer imports
    that module, so the held-out file stays out of its reach. Raises ``ValueError`` naming the line
    for a wrong header, a wrong column count, an unknown label, an empty or a repeated sentence.
    """
    rows: list[Row] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header != FRESH_COLUMNS:
            raise ValueError(f"{path.name}: header must be {FRESH_COLUMNS}, got {header}")
        for number, cells in enumerate(reader, start=2):
            if len(cells) != len(FRESH_COLUMNS):
                raise ValueError(f"{path.name}:{number}: expected 4 tab-separated columns")
            label, family, domain, text = (c.strip() for c in cells)
            if label not in FRESH_LABELS:
                raise ValueError(f"{path.name}:{number}: unknown label {label!r}")
            if not text or not family or not domain:
                raise ValueError(f"{path.name}:{number}: empty family, domain or text")
            if text in seen:
                raise ValueError(f"{path.name}:{number}: repeated sentence {text!r}")
            seen.add(text)
            kind = FRESH_LABELS[label]
            rows.append(
                Row(
                    text,
                    kind == "blame",
                    kind == "vague_action",
                    f"fresh:{number}",
                    family,
                    "fresh",
                    "fresh",
                )
            )
    return rows


def fresh_scores(rows: list[Row], predicted: list[set[str]]) -> dict[str, object]:
    """Blame and vague P/R, false alarms on ``neither`` rows and misses per family, as data.

    A ``neither`` row is a false alarm when the coach flags it with either kind. A miss is a row
    whose own label the coach did not give, counted under ``label/family``.
    """
    out: dict[str, object] = {label: scores(rows, predicted, label) for label in KINDS}
    clean = [p for r, p in zip(rows, predicted, strict=True) if not r.blame and not r.vague_action]
    out["neither"] = (sum(1 for p in clean if p), len(clean))
    misses: Counter[str] = Counter()
    for r, p in zip(rows, predicted, strict=True):
        for label in KINDS:
            if r.label(label) and label not in p:
                misses[f"{label}/{r.family}"] += 1
    out["misses"] = dict(sorted(misses.items()))
    out["sentences"] = len(rows)
    out["predicted"] = predicted
    return out


def normalise(text: str) -> str:
    """Lower case, words only: "Look at it." and "look at it!" are the same sentence."""
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


def split_off_training(rows: list[Row]) -> tuple[list[Row], list[Row]]:
    """``rows`` without the sentences the training corpus also holds word for word, and those.

    The held-out set is written without reading the corpus, so short, common sentences ("Look at
    it.", the issue's own example) can coincide with training sentences. Scoring them would
    measure recall of memorised text, and rewording them after seeing the overlap would bend the
    set toward the corpus; they are left out of the measurement and counted instead.
    """
    trained = {normalise(r.text) for r in written_rows()}
    kept = [r for r in rows if normalise(r.text) not in trained]
    left_out = [r for r in rows if normalise(r.text) in trained]
    return kept, left_out


def evaluate_fresh(path: Path = FRESH_HOLDOUT) -> dict[str, object]:
    """The shipped coach on the fresh held-out set (see the module's docstring), without the
    sentences that are also training sentences (:func:`split_off_training`)."""
    rows, left_out = split_off_training(load_fresh(path))
    return fresh_scores(rows, flags(rows)) | {"rows": rows, "left_out": left_out}


def print_fresh(result: dict[str, object], list_misses: bool, path: Path = FRESH_HOLDOUT) -> None:
    rows = result["rows"]
    assert isinstance(rows, list)
    left_out = result.get("left_out", [])
    assert isinstance(left_out, list)
    print(
        f"fresh held-out (never tuned on): {result['sentences']} sentences, {path.name} "
        f"({len(left_out)} left out: also in the training corpus word for word)"
    )
    print(f"{'kind':<13} {'pos':>4} {'tp':>4} {'fp':>4} {'fn':>4} {'precision':>9} {'recall':>7}")
    for label in KINDS:
        m = result[label]
        assert isinstance(m, dict)
        print(
            f"{label:<13} {m['pos']:>4} {m['tp']:>4} {m['fp']:>4} {m['fn']:>4} "
            f"{m['precision']:>9.3f} {m['recall']:>7.3f}"
        )
    pair = result["neither"]
    assert isinstance(pair, tuple)
    flagged, total = pair
    print(f"false alarms on neither: {flagged}/{total} = {100 * flagged / max(1, total):.2f}%")
    counts = Counter(
        f"{'blame' if r.blame else 'vague' if r.vague_action else 'neither'}/{r.family}" for r in rows
    )
    misses = result["misses"]
    assert isinstance(misses, dict)
    print("misses per family (missed/total):")
    for key, n in misses.items():
        label, family = key.split("/", 1)
        short = "vague" if label == "vague_action" else label
        print(f"  {key:<34} {n:>3}/{counts[f'{short}/{family}']}")
    if list_misses:
        predicted = result["predicted"]
        assert isinstance(predicted, list)
        print("-- misclassified fresh sentences (do not tune on them)")
        for r, p in zip(rows, predicted, strict=True):
            for label in KINDS:
                if r.label(label) != (label in p):
                    tag = "FN" if r.label(label) else "FP"
                    print(f"  {tag} {label:<12} [{r.family}] {r.text}")


def speed(rows: list[Row]) -> float:
    """Milliseconds per sentence, coaching each written sentence once (after a warm-up)."""
    texts = [r.text for r in rows if r.source != "real"]
    for t in texts[:50]:
        coach_text(t)
    start = time.process_time()
    for t in texts:
        coach_text(t)
    return 1000 * (time.process_time() - start) / max(1, len(texts))


def own_suggestions(rows: list[Row]) -> dict[str, tuple[int, int]]:
    """How many of the coach's own distinct rewrite suggestions the coach flags, per split of the
    rule that wrote them (decision 61): the corpus trains on a few suggestions of the rules whose
    group ``sg:<rule>`` is in train or dev, so the ``test`` rules' suggestions are the held-out
    measure and ``all`` includes every rule. A suggestion is rendered for every sentence of the
    corpus a rule matches."""
    by_rule: dict[str, set[str]] = {}
    for r in rows:
        for name, finding in rule_findings(r.text):
            by_rule.setdefault(name, set()).add(finding.suggestion)
    out: dict[str, tuple[int, int]] = {}
    for name, texts in by_rule.items():
        split = split_of("sg:" + name)
        for key in (split, "all"):
            flagged, total = out.get(key, (0, 0))
            hits = sum(1 for t in texts if any(f.kind in KINDS for f in coach_text(t)))
            out[key] = (flagged + hits, total + len(texts))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--errors", choices=("train", "dev"), help="list this split's misclassified sentences"
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help=f"measure only the fresh held-out set ({FRESH_HOLDOUT.relative_to(ROOT)})",
    )
    parser.add_argument(
        "--list-misses", action="store_true", help="with --fresh: list its misclassified sentences"
    )
    parser.add_argument(
        "--model",
        type=Path,
        help="let the fine-tuned weights at this path decide (bench/coach_finetune.py --save; decision 66)",
    )
    args = parser.parse_args(argv)
    if args.model:
        use_model(args.model)
        print(f"deciding: the fine-tuned model at {args.model} (the rules explain)")
    if args.fresh:
        if not FRESH_HOLDOUT.is_file():
            print(f"skipped: no fresh held-out set at {FRESH_HOLDOUT.relative_to(ROOT)} (nothing measured)")
            return 0
        print_fresh(evaluate_fresh(), args.list_misses)
        return 0
    rows = load()
    model = load_model()
    written = [r for r in rows if r.source != "real"]
    real = [r for r in rows if r.source == "real"]
    print(f"corpus: {len(written)} written + {len(real)} real sentences = {len(rows)} labelled")
    if not args.model:
        print(f"model: corpus sha256 {model.corpus_sha256[:12]}, thresholds {model.threshold}")
    result = evaluate(rows)
    print(
        f"{'split':<6} {'sentences':>9} {'kind':<13} {'pos':>4} {'tp':>4} {'fp':>4} {'fn':>4} {'precision':>9} {'recall':>7}"
    )
    for split in ("train", "dev", "test"):
        block = result[split]
        assert isinstance(block, dict)
        for label in KINDS:
            m = block[label]
            print(
                f"{split:<6} {block['sentences']:>9} {label:<13} {m['pos']:>4} {m['tp']:>4} {m['fp']:>4} {m['fn']:>4} "
                f"{m['precision']:>9.3f} {m['recall']:>7.3f}"
            )
    chosen = None if args.model else model.meta.get("chosen_by_cv")
    if isinstance(chosen, dict):
        print(
            f"model alone, out-of-fold ({model.meta.get('cv_folds')}-fold grouped CV on train+dev; the model is fitted on {model.meta.get('fitted_on')}):"
        )
        for label, info in chosen.items():
            for part in ("cv_train", "cv_dev"):
                m = info[part]
                print(
                    f"{part:<8} {label:<13} C={info['C']:<5} tp {m['tp']:>4} fp {m['fp']:>4} fn {m['fn']:>4} "
                    f"precision {m['precision']:.3f} recall {m['recall']:.3f}"
                )
            flagged, total = info["cv_real_flagged"]
            print(f"cv_real  {label:<13} flagged {flagged}/{total} real sentences labelled neither")
    for name, label in (
        ("real_held", "real post-mortem sentences, dev+test records"),
        ("real_all", "all real sentences"),
    ):
        pair = result[name]
        assert isinstance(pair, tuple)
        flagged, total = int(pair[0]), int(pair[1])
        print(f"false alarms on {label}: {flagged}/{total} = {100 * flagged / max(1, total):.2f}%")
    if real:
        print(
            f"(flags on real sentences labelled positive are not false alarms: {sum(1 for r in real if r.blame or r.vague_action)} such)"
        )
    own = own_suggestions(rows)
    for key in ("test", "all"):
        flagged, total = own.get(key, (0, 0))
        scope = "of the rules in the test split" if key == "test" else "of every rule"
        print(
            f"coach's own suggestions flagged, {scope}: {flagged}/{total} = {100 * flagged / max(1, total):.2f}%"
        )
    print(f"speed: {speed(rows):.3f} ms per written sentence (process time, one core)")
    if args.errors:
        predicted = result["predicted"]
        assert isinstance(predicted, list)
        print(f"\n-- errors in {args.errors}")
        for r, p in zip(rows, predicted, strict=True):
            if r.split != args.errors:
                continue
            for label in KINDS:
                if r.label(label) != (label in p):
                    tag = "FN" if r.label(label) else "FP"
                    print(f"  {tag} {label:<12} [{r.family}] {' '.join(r.text.split())[:200]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
