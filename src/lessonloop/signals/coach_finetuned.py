"""The coach's optional fine-tuned model (decision 66), behind the ``semantic`` extra.

The default coach decides with a linear model over hashed features (:mod:`coach_model`): no
PyTorch, 0.45 ms a sentence, but a writer it has never seen gets blame recall about 0.76. The
``semantic`` extra's all-MiniLM-L6-v2, fine-tuned end to end on the same corpus by
``bench/coach_finetune.py --save PATH``, gets 0.92 on such a writer at the same precision
(docs/coach.md), for ~18 ms of CPU a sentence and 90 MB of weights that are built, not shipped.

Point ``LESSONLOOP_COACH_MODEL`` at the weights (``PATH``; its thresholds are in ``PATH.json``,
written beside it) and the coach decides with this model; the hand-written rules still explain
what it flags (the phrase, the reason, the rewrite). Nothing is downloaded: the encoder and
tokenizer come from the packaged model (:mod:`lessonloop.signals.semantic`).
"""

from __future__ import annotations

import importlib
import json
import threading
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from lessonloop.errors import Invalid
from lessonloop.signals import semantic

LABELS = ("blame", "vague_action")
MAX_TOKENS = 64  # the sentences it was fine-tuned on, cut the same way


class FineTunedUnavailable(Invalid):
    """The configured weights cannot be used (a missing file or the missing extra)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="LESSONLOOP_COACH_MODEL")


def meta_path(weights: Path) -> Path:
    return weights.with_name(weights.name + ".json")


def build(torch: Any) -> tuple[Any, Any]:
    """The packaged encoder with a two-label head (mean pooling), and its tokenizer: the network
    ``bench/coach_finetune.py`` fine-tunes and this module loads."""
    package = importlib.import_module(semantic.MODEL_PACKAGE)
    st = package.load_model(device="cpu")
    encoder, tokenizer = st[0].auto_model, st.tokenizer

    class Classifier(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.enc = encoder
            self.head = torch.nn.Linear(encoder.config.hidden_size, len(LABELS))

        def forward(self, ids: Any, mask: Any) -> Any:
            hidden = self.enc(input_ids=ids, attention_mask=mask).last_hidden_state
            m = mask.unsqueeze(-1).float()
            return self.head((hidden * m).sum(1) / m.sum(1).clamp(min=1))

    return Classifier(), tokenizer


def check(weights: Path) -> dict[str, float]:
    """The thresholds stored beside ``weights``; :class:`FineTunedUnavailable` with the reason
    when the file, its thresholds or the ``semantic`` extra are missing. Cheap: no model is loaded."""
    if not weights.is_file():
        raise FineTunedUnavailable(f"no weights at {weights}")
    meta = meta_path(weights)
    if not meta.is_file():
        raise FineTunedUnavailable(f"no thresholds at {meta} (bench/coach_finetune.py --save writes both)")
    if not semantic.available():
        raise FineTunedUnavailable(f"needs the semantic extra: {semantic.INSTALL_HINT}")
    thresholds = json.loads(meta.read_text(encoding="utf-8")).get("thresholds", {})
    if sorted(thresholds) != sorted(LABELS) or not all(0 < float(v) < 1 for v in thresholds.values()):
        raise FineTunedUnavailable(f"{meta} has no threshold per label")
    return {k: float(v) for k, v in thresholds.items()}


class FineTunedCoach:
    """Decides like :class:`coach_model.CoachModel` (``probabilities``, ``predict``) with the
    fine-tuned network; the rules that fired are not its input (it reads the words)."""

    def __init__(self, weights: Path) -> None:
        self.threshold = check(weights)
        semantic._offline()
        self._torch = importlib.import_module("torch")
        self._torch.set_num_threads(semantic.TORCH_THREADS)
        self._model, self._tokenizer = build(self._torch)
        self._model.load_state_dict(self._torch.load(weights, map_location="cpu"))
        self._model.eval()
        self._lock = threading.Lock()  # one forward pass at a time: torch's threads are the pool

    def probabilities(self, sentence: str, rules: Iterable[str] = ()) -> dict[str, float]:
        enc = self._tokenizer(
            [sentence], padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
        )
        with self._lock, self._torch.no_grad():
            out = self._torch.sigmoid(self._model(enc["input_ids"], enc["attention_mask"]))[0].tolist()
        return dict(zip(LABELS, (float(p) for p in out), strict=True))

    def predict(
        self, sentence: str, rules: Iterable[str] = (), backed: Iterable[str] = ()
    ) -> dict[str, bool]:
        probs = self.probabilities(sentence)
        return {label: probs[label] >= self.threshold[label] for label in LABELS}


@lru_cache(maxsize=2)
def load_finetuned(weights: Path) -> FineTunedCoach:
    """The fine-tuned coach for ``weights``, loaded once per process (seconds the first time)."""
    return FineTunedCoach(weights)
