"""The status machine as plain functions, with hypothesis exploring every path."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lessonloop.errors import Conflict
from lessonloop.failures.lifecycle import TRANSITIONS, LoopFacts, check_transition, refusal
from lessonloop.failures.models import FailureStatus as S

ALL = list(S)
facts_strategy = st.builds(LoopFacts, review_completed=st.booleans(), primary_action_closed=st.booleans())


def test_happy_path_needs_review_and_closed_action() -> None:
    done = LoopFacts(review_completed=True, primary_action_closed=True)
    path = [S.observed, S.in_review, S.acting, S.re_evaluating, S.learned]
    for current, target in itertools.pairwise(path):
        check_transition(current, target, done)


@pytest.mark.parametrize("target", [S.acting, S.re_evaluating, S.learned])
def test_no_progress_without_completed_review(target: S) -> None:
    reason = refusal(S.re_evaluating if target == S.learned else S.in_review, target, LoopFacts())
    assert reason is not None and "review" in reason


def test_learned_refused_while_primary_action_open() -> None:
    with pytest.raises(Conflict, match="primary corrective action"):
        check_transition(S.re_evaluating, S.learned, LoopFacts(review_completed=True))


def test_learned_is_final() -> None:
    assert TRANSITIONS[S.learned] == frozenset()


@given(current=st.sampled_from(ALL), target=st.sampled_from(ALL), facts=facts_strategy)
def test_refusal_is_consistent_with_the_table(current: S, target: S, facts: LoopFacts) -> None:
    reason = refusal(current, target, facts)
    if target not in TRANSITIONS[current]:
        assert reason is not None
    if reason is None:
        assert target in TRANSITIONS[current]
        if target == S.learned:
            assert facts.review_completed and facts.primary_action_closed


@given(
    steps=st.lists(st.tuples(st.sampled_from(ALL), facts_strategy), max_size=30),
)
def test_any_walk_reaches_learned_only_through_the_loop(steps: list[tuple[S, LoopFacts]]) -> None:
    """Random walks: learned is reached only from re-evaluating, with the loop's facts true."""
    state = S.observed
    visited = [state]
    for target, facts in steps:
        if refusal(state, target, facts) is None:
            if target == S.learned:
                assert state == S.re_evaluating
                assert facts.review_completed and facts.primary_action_closed
            state = target
            visited.append(state)
    if S.learned in visited:
        assert S.re_evaluating in visited and S.acting in visited


def test_status_changes_only_through_the_machine() -> None:
    """No module but the lifecycle assigns a failure's status: every change goes through
    ``lifecycle.move``, which checks the transition first."""
    import ast
    from pathlib import Path

    import lessonloop

    root = Path(lessonloop.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        if path.name == "lifecycle.py" or "migrations" in path.parts:
            continue
        source = path.read_text()
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.Assign):
                continue
            for target in node.targets:
                if not (isinstance(target, ast.Attribute) and target.attr == "status"):
                    continue
                owner = ast.unparse(target.value)
                if "failure" in owner.lower() or "FailureStatus" in ast.unparse(node.value):
                    offenders.append(f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)}")
    assert offenders == []
