"""bench/coach_finetune.py's own logic, without PyTorch: the threshold it takes from the writer
left out, and a clear skip when the ``semantic`` extra is missing."""

from __future__ import annotations

import numpy as np
import pytest


def test_the_threshold_is_the_margin_rules_choice_on_the_writer_left_out() -> None:
    from bench import coach_finetune

    rng = np.random.default_rng(0)
    y = rng.random(400) < 0.4
    probs = np.where(y, rng.uniform(0.3, 1.0, 400), rng.uniform(0.0, 0.6, 400))
    threshold, score = coach_finetune.choose(probs, y)
    grid = [round(t, 2) for t in np.arange(0.05, 0.99, 0.01)]
    margins = {
        t: coach_finetune.train_coach.margin(coach_finetune.train_coach.counts(probs >= t, y)) for t in grid
    }
    assert threshold in margins and score == pytest.approx(max(margins.values()))
    assert 0.3 < threshold < 0.6  # between the classes' overlap, not at either end


def test_without_the_extra_it_says_so_and_measures_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bench import coach_finetune

    monkeypatch.setattr(coach_finetune.semantic, "available", lambda: False)
    assert coach_finetune.main([]) == 0
    assert "skipped" in capsys.readouterr().out
