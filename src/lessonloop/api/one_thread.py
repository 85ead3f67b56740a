"""Run a request's whole unit of work on one thread.

**Why.** FastAPI runs a sync ``yield`` dependency's setup, the sync endpoint and the dependency's
teardown as three separate thread-pool calls, and under concurrent requests those land on three
different threads. A SQLAlchemy session opened on one thread, used on a second and closed on a
third crashed the interpreter (SIGSEGV in ``Session.close``) on CPython 3.11.7 under load — see
docs/performance.md and ``bench/crash_repro.py``, which reproduces it without FastAPI and shows
that the same work on one thread does not crash. Whatever the root cause, a session that never
leaves its thread is also the simplest thing to reason about.

**How.** A dependency marked :class:`InRequestThread` (``DbSession``, the pages' ``SignedIn``) is
not given to FastAPI. Instead :class:`OneThreadRoute` wraps the endpoint: FastAPI resolves the
marked dependency's *own* parameters (the request, the actor, …) as hidden parameters, and the
wrapper then enters the dependency, calls the endpoint and leaves the dependency — commit and
close included — in a single thread-pool call. The commit still happens before the response is
sent, and an exception in the endpoint still rolls the unit back.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

_HIDDEN = "_one_thread_"


@dataclass(frozen=True)
class InRequestThread:
    """``Annotated[T, InRequestThread(generator)]``: a sync generator dependency run in the endpoint's thread."""

    dependency: Callable[..., Iterator[Any]]


def _marker(annotation: Any) -> InRequestThread | None:
    if typing.get_origin(annotation) is typing.Annotated:
        for meta in annotation.__metadata__:
            if isinstance(meta, InRequestThread):
                return meta
    return None


def in_one_thread(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """The endpoint wrapped so that its :class:`InRequestThread` dependencies share its thread.

    An endpoint without such a parameter is returned unchanged.
    """
    hints = typing.get_type_hints(endpoint, include_extras=True)
    signature = inspect.signature(endpoint)
    marked = {name: m for name in signature.parameters if (m := _marker(hints.get(name))) is not None}
    if not marked:
        return endpoint
    if inspect.iscoroutinefunction(endpoint):
        raise TypeError(f"{endpoint.__qualname__}: an async endpoint cannot take a thread-bound unit of work")

    own: list[inspect.Parameter] = []
    for name, param in signature.parameters.items():
        if name not in marked:
            own.append(param.replace(annotation=hints.get(name, param.annotation)))
    # The marked dependencies' own parameters, under names that cannot clash with the endpoint's.
    hidden: list[inspect.Parameter] = []
    routing: dict[str, tuple[str, str]] = {}  # hidden name -> (endpoint parameter, dependency parameter)
    for name, mark in marked.items():
        dep_hints = typing.get_type_hints(mark.dependency, include_extras=True)
        for dep_name, dep_param in inspect.signature(mark.dependency).parameters.items():
            alias = f"{_HIDDEN}{name}_{dep_name}"
            routing[alias] = (name, dep_name)
            hidden.append(
                inspect.Parameter(
                    alias,
                    inspect.Parameter.KEYWORD_ONLY,
                    default=dep_param.default,
                    annotation=dep_hints.get(dep_name, dep_param.annotation),
                )
            )
    params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + hidden

    def run(kwargs: dict[str, Any]) -> Any:
        dep_kwargs: dict[str, dict[str, Any]] = {name: {} for name in marked}
        call_kwargs: dict[str, Any] = {}
        for key, value in kwargs.items():
            if key in routing:
                owner, dep_name = routing[key]
                dep_kwargs[owner][dep_name] = value
            else:
                call_kwargs[key] = value
        with ExitStack() as stack:
            for name, mark in marked.items():
                call_kwargs[name] = stack.enter_context(contextmanager(mark.dependency)(**dep_kwargs[name]))
            return endpoint(**call_kwargs)

    async def wrapper(**kwargs: Any) -> Any:
        return await run_in_threadpool(run, kwargs)

    wrapper.__name__ = endpoint.__name__
    wrapper.__qualname__ = endpoint.__qualname__
    wrapper.__doc__ = endpoint.__doc__
    wrapper.__module__ = endpoint.__module__
    # FastAPI reads the parameters and the return annotation (the response model) from here.
    returns = hints.get("return", signature.return_annotation)
    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=params,
        # get_type_hints turns "-> None" into NoneType, which FastAPI would take as a response model.
        return_annotation=None if returns is type(None) else returns,
    )
    return wrapper


class OneThreadRoute(APIRoute):
    """An :class:`APIRoute` whose endpoint runs with its unit of work on one thread (see the module)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, in_one_thread(endpoint), **kwargs)
