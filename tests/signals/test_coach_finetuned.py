"""The coach's optional fine-tuned model (decision 66): chosen by ``LESSONLOOP_COACH_MODEL``,
checked when the app or the command starts, deciding in place of the linear model while the
rules still explain. The network itself needs the ``semantic`` extra (skipped without it)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lessonloop.app import create_app
from lessonloop.cli import common
from lessonloop.cli.main import app as cli
from lessonloop.settings import Settings, get_settings
from lessonloop.signals import coach, coach_finetuned, semantic
from lessonloop.signals.coach import BLAME, VAGUE_ACTION, coach_text, use_model
from lessonloop.signals.coach_finetuned import FineTunedUnavailable
from lessonloop.signals.coach_model import load_model


class Always:
    """A decider that says yes (or no) to every label."""

    def __init__(self, verdict: bool) -> None:
        self.verdict = verdict
        self.seen: list[str] = []

    def predict(
        self, sentence: str, rules: Iterable[str] = (), backed: Iterable[str] = ()
    ) -> dict[str, bool]:
        self.seen.append(sentence)
        return {"blame": self.verdict, "vague_action": self.verdict}


@pytest.fixture(autouse=True)
def linear_again() -> Iterator[None]:
    yield
    use_model(None)


TEXT = "Priya restarted the pump at 03:10. Bob was careless with the deploy."


def test_the_configured_model_decides_and_the_rules_still_explain() -> None:
    assert coach.active_model() is load_model()  # the default: the shipped linear model
    linear = coach_text(TEXT)
    assert [f.kind for f in linear] == [BLAME] and linear[0].text == "careless"
    yes = Always(True)
    use_model(yes)
    flagged = coach_text(TEXT)
    assert yes.seen == ["Priya restarted the pump at 03:10.", "Bob was careless with the deploy."]
    # both sentences flagged as both kinds; the rule's phrase explains the second's blame
    assert {(f.kind, f.text) for f in flagged} >= {
        (BLAME, "Priya restarted the pump at 03:10."),
        (VAGUE_ACTION, "Priya restarted the pump at 03:10."),
        (BLAME, "careless"),
    }
    use_model(Always(False))
    assert coach_text(TEXT) == []  # a rule the model does not confirm is dropped
    use_model(None)
    assert coach_text(TEXT) == linear


def test_a_path_is_checked_when_chosen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    weights = tmp_path / "coach.pt"
    with pytest.raises(FineTunedUnavailable, match="no weights at"):
        use_model(weights)
    weights.write_bytes(b"not read until first use")
    with pytest.raises(FineTunedUnavailable, match="no thresholds at"):
        use_model(str(weights))
    meta = coach_finetuned.meta_path(weights)
    meta.write_text(json.dumps({"thresholds": {"blame": 0.5}}), encoding="utf-8")
    monkeypatch.setattr(semantic, "available", lambda: True)
    with pytest.raises(FineTunedUnavailable, match="no threshold per label"):
        use_model(weights)
    monkeypatch.setattr(semantic, "available", lambda: False)
    meta.write_text(json.dumps({"thresholds": {"blame": 0.5, "vague_action": 0.9}}), encoding="utf-8")
    with pytest.raises(FineTunedUnavailable, match="semantic extra") as err:
        use_model(weights)
    assert err.value.field == "LESSONLOOP_COACH_MODEL"
    assert coach.active_model() is load_model()  # a refused path changes nothing


def test_the_setting_reaches_the_app_and_the_command(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pt"
    assert get_settings({"LESSONLOOP_COACH_MODEL": f" {missing} "}).coach_model == str(missing)
    assert get_settings({}).coach_model == ""
    with pytest.raises(FineTunedUnavailable, match="no weights at"):
        create_app(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", coach_model=str(missing)))
    try:
        result = CliRunner().invoke(
            cli,
            ["--database-url", f"sqlite:///{tmp_path / 'y.db'}", "coach", "-"],
            input="Be more careful.\n",
            env={"LESSONLOOP_COACH_MODEL": str(missing)},
        )
    finally:
        common.reset()
    assert result.exit_code == 1 and "no weights at" in result.output


@pytest.mark.skipif(not semantic.available(), reason=semantic.INSTALL_HINT)
def test_fine_tuned_weights_decide(tmp_path: Path) -> None:
    import torch

    model, _tokenizer = coach_finetuned.build(torch)
    weights = tmp_path / "coach.pt"
    meta = coach_finetuned.meta_path(weights)
    meta.write_text(json.dumps({"thresholds": {"blame": 0.5, "vague_action": 0.5}}), encoding="utf-8")
    for bias, expected in ((20.0, True), (-20.0, False)):
        with torch.no_grad():
            model.head.bias.fill_(bias)
        torch.save(model.state_dict(), weights)
        coach_finetuned.load_finetuned.cache_clear()
        use_model(weights)
        decider = coach.active_model()
        assert isinstance(decider, coach_finetuned.FineTunedCoach)
        probs = decider.probabilities("The deploy went out at 14:05.")
        assert set(probs) == {"blame", "vague_action"} and all(0.0 <= p <= 1.0 for p in probs.values())
        assert decider.predict("The deploy went out at 14:05.") == {
            "blame": expected,
            "vague_action": expected,
        }
        assert bool(coach_text("The deploy went out at 14:05.")) is expected
    coach_finetuned.load_finetuned.cache_clear()
