"""A bulk write raises the collector's threshold for its duration, and puts it back."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from lessonloop.portability import bulk


@pytest.fixture(autouse=True)
def default_threshold() -> Iterator[None]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*saved)


def test_threshold_is_raised_inside_and_restored_after() -> None:
    with bulk.fewer_collections():
        assert gc.get_threshold() == (bulk.GC_THRESHOLD, 10, 10)
    assert gc.get_threshold() == (700, 10, 10)


def test_overlapping_blocks_restore_once_the_last_one_leaves() -> None:
    outer = bulk.fewer_collections()
    inner = bulk.fewer_collections()
    outer.__enter__()
    inner.__enter__()
    outer.__exit__(None, None, None)  # the first to leave must not restore while the other runs
    assert gc.get_threshold()[0] == bulk.GC_THRESHOLD
    inner.__exit__(None, None, None)
    assert gc.get_threshold() == (700, 10, 10)


def test_an_error_in_the_block_still_restores() -> None:
    with pytest.raises(RuntimeError), bulk.fewer_collections():
        raise RuntimeError("boom")
    assert gc.get_threshold() == (700, 10, 10)


def test_a_higher_threshold_already_set_is_kept() -> None:
    gc.set_threshold(200_000, 10, 10)
    with bulk.fewer_collections():
        assert gc.get_threshold()[0] == 200_000
    assert gc.get_threshold() == (200_000, 10, 10)
