"""Train the coach's model on ``corpus/coach`` and write ``src/lessonloop/signals/coach_model.json.gz``.

    .venv/bin/python scripts/train_coach.py            # train, choose C and thresholds on dev, write
    .venv/bin/python scripts/train_coach.py --check    # train and compare with the shipped file

Needs scikit-learn (the ``dev`` extra) and ``../shared/data`` (the real sentences of the corpus).
Deterministic: liblinear with a fixed seed on rows in corpus order.

Only the ``train`` split is fitted. The regularisation C and each label's decision threshold
are chosen on ``dev`` alone: the threshold is the lowest probability at which dev precision is
at least ``TARGET_PRECISION`` and the flag rate on dev's real sentences at most
``TARGET_REAL_RATE``; C maximises dev recall under those limits. ``test`` is never read here
(``bench/coach_eval.py`` reports it).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402
from scipy.sparse import csr_matrix  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from lessonloop.signals.coach import rule_findings  # noqa: E402
from lessonloop.signals.coach_corpus import LABELS, Row, corpus_sha256, load  # noqa: E402
from lessonloop.signals.coach_model import DIM, FEATURE_VERSION, MODEL_PATH, features, hashed  # noqa: E402

SEED = 15
C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0)
TARGET_PRECISION = 0.96
TARGET_REAL_RATE = 0.005
SCALE = 1e-4  # weights are stored as integers of this unit


def matrix(rows: list[Row]) -> csr_matrix:
    data: list[float] = []
    indices: list[int] = []
    indptr = [0]
    for row in rows:
        rules = sorted({name for name, _ in rule_findings(row.text)})
        x = hashed(features(row.text, rules))
        for k in sorted(x):
            indices.append(k)
            data.append(x[k])
        indptr.append(len(indices))
    return csr_matrix((np.array(data), np.array(indices), np.array(indptr)), shape=(len(rows), DIM))


def choose_threshold(probs: np.ndarray, y: np.ndarray, real: np.ndarray) -> tuple[float, float]:
    """(threshold, recall) on dev: lowest threshold meeting the precision and real-rate limits."""
    best = (0.99, 0.0)
    for t in np.arange(0.05, 0.99, 0.01):
        flagged = probs >= t
        tp = int(np.sum(flagged & y & ~real))
        fp = int(np.sum(flagged & ~y & ~real))
        pos = int(np.sum(y & ~real))
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / pos if pos else 1.0
        real_rate = float(np.sum(flagged & real & ~y)) / max(1, int(np.sum(real)))
        if precision >= TARGET_PRECISION and real_rate <= TARGET_REAL_RATE:
            return float(round(t, 2)), recall
    return best


def fit(x: csr_matrix, y: np.ndarray, c: float) -> LogisticRegression:
    model = LogisticRegression(
        C=c, solver="liblinear", class_weight="balanced", random_state=SEED, max_iter=1000
    )
    model.fit(x, y)
    return model


def train() -> dict[str, object]:
    rows = load()
    if not any(r.source == "real" for r in rows):
        raise SystemExit("../shared/data is missing: the corpus's real sentences cannot be read")
    train_rows = [r for r in rows if r.split == "train"]
    dev_rows = [r for r in rows if r.split == "dev"]
    x_train, x_dev = matrix(train_rows), matrix(dev_rows)
    dev_real = np.array([r.source == "real" for r in dev_rows])
    labels: dict[str, object] = {}
    chosen: dict[str, object] = {}
    for label in LABELS:
        y_train = np.array([r.label(label) for r in train_rows])
        y_dev = np.array([r.label(label) for r in dev_rows])
        best: tuple[float, float, float, LogisticRegression] | None = None
        for c in C_GRID:
            model = fit(x_train, y_train, c)
            probs = model.predict_proba(x_dev)[:, 1]
            threshold, recall = choose_threshold(probs, y_dev, dev_real)
            print(f"{label:<13} C={c:<5} dev threshold={threshold:.2f} recall={recall:.3f}")
            if best is None or recall > best[1] + 1e-9:
                best = (c, recall, threshold, model)
        assert best is not None
        c, recall, threshold, model = best
        coef = model.coef_[0]
        nz = np.flatnonzero(np.round(coef / SCALE))
        labels[label] = {
            "index": [int(i) for i in nz],
            "weight": [int(v) for v in np.round(coef[nz] / SCALE)],
            "scale": SCALE,
            "bias": round(float(model.intercept_[0]), 6),
            "threshold": threshold,
        }
        chosen[label] = {"C": c, "dev_recall_at_threshold": round(recall, 4)}
    return {
        "feature_version": FEATURE_VERSION,
        "dim": DIM,
        "corpus_sha256": corpus_sha256(),
        "labels": labels,
        "meta": {
            "trainer": "sklearn LogisticRegression(solver=liblinear, class_weight=balanced)",
            "seed": SEED,
            "train_rows": len(train_rows),
            "dev_rows": len(dev_rows),
            "chosen_on_dev": chosen,
            "target_precision": TARGET_PRECISION,
            "target_real_rate": TARGET_REAL_RATE,
        },
    }


def dumps(model: dict[str, object]) -> bytes:
    return json.dumps(model, sort_keys=True, separators=(",", ":")).encode("utf-8")


def write(model: dict[str, object], path: Path = MODEL_PATH) -> None:
    # mtime=0 so the same model gives the same bytes
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as fh:
        fh.write(dumps(model))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="compare a fresh training run with the shipped file"
    )
    args = parser.parse_args(argv)
    model = train()
    if args.check:
        with gzip.open(MODEL_PATH, "rb") as fh:
            same = fh.read() == dumps(model)
        print(
            "shipped model matches a fresh training run" if same else "shipped model DIFFERS from a fresh run"
        )
        return 0 if same else 1
    write(model)
    print(f"wrote {MODEL_PATH.relative_to(ROOT)} ({MODEL_PATH.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
