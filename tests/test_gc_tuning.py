"""The server's cycle-collector schedule (decision 63): survivors of a full collection are frozen,
and everything is thawed again every THAW_SECONDS."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from lessonloop import gc_tuning


@pytest.fixture
def installed() -> Iterator[None]:
    gc.unfreeze()
    gc_tuning.install()
    try:
        yield
    finally:
        gc_tuning.uninstall()


def test_survivors_of_a_full_collection_are_frozen(installed: None) -> None:
    assert gc.get_freeze_count() == 0
    kept = [[i] for i in range(1000)]  # tracked objects that survive
    gc.collect()
    assert gc.get_freeze_count() >= len(kept)


def test_a_young_collection_freezes_nothing(installed: None) -> None:
    gc.collect(0)
    assert gc.get_freeze_count() == 0


def test_install_is_idempotent(installed: None) -> None:
    gc_tuning.install()
    assert gc.callbacks.count(gc_tuning._after_collection) == 1


def test_everything_is_thawed_once_per_period(installed: None, monkeypatch: pytest.MonkeyPatch) -> None:
    gc.collect()
    assert gc.get_freeze_count() > 0
    monkeypatch.setattr(gc_tuning, "_last_thaw", gc_tuning._last_thaw - gc_tuning.THAW_SECONDS)
    gc.collect()  # this full collection saw the whole heap; its end thaws everything
    assert gc.get_freeze_count() == 0
    gc.collect()  # and the next one freezes again
    assert gc.get_freeze_count() > 0


def test_cyclic_garbage_frozen_while_alive_is_freed_after_a_thaw(
    installed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import weakref

    class Node:
        other: object

    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle, alive while frozen
    probe = weakref.ref(a)
    gc.collect()
    del a, b
    gc.collect()
    assert probe() is not None  # frozen: not examined
    monkeypatch.setattr(gc_tuning, "_last_thaw", gc_tuning._last_thaw - gc_tuning.THAW_SECONDS)
    gc.collect()  # thaws at its end
    gc.collect()  # sees the cycle
    assert probe() is None


def test_only_serve_installs_it() -> None:
    # The test process itself runs with CPython's default schedule.
    assert gc_tuning._after_collection not in gc.callbacks


def test_a_server_that_could_not_start_leaves_the_schedule_alone() -> None:
    import socket

    import typer

    from lessonloop.cli import serve_cmds

    async def app(scope: object, receive: object, send: object) -> None:  # never reached
        raise AssertionError

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(typer.Exit):
            serve_cmds.run_server(app, "127.0.0.1", busy.getsockname()[1], lambda: None)
    assert gc_tuning._after_collection not in gc.callbacks
