"""What every command shares: the database, one transaction per command, errors and output.

Commands stay thin: parse options, call a service inside :func:`unit`, render the result with
:func:`emit`. A :class:`LessonloopError` becomes one line on stderr and exit code 1, never a
traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

import lessonloop.bootstrap  # noqa: F401  (wires the layers into storage before it is opened)
from lessonloop.access.actor import SystemActor
from lessonloop.errors import LessonloopError
from lessonloop.settings import Settings, get_settings
from lessonloop.store.engine import Database
from lessonloop.store.migrate import SchemaTooNew

P = ParamSpec("P")
R = TypeVar("R")

console = Console()
err_console = Console(stderr=True)

_state: dict[str, Any] = {}


def settings() -> Settings:
    if "settings" not in _state:
        _state["settings"] = get_settings()
    return _state["settings"]


def database() -> Database:
    """Opened on first use and migrated when behind, so a new user needs no set-up step."""
    if "db" not in _state:
        _state["db"] = Database.open(settings())
    return _state["db"]


def reset() -> None:
    """Forget the opened database (tests run many commands with different settings)."""
    db = _state.pop("db", None)
    if db is not None:
        db.close()
    _state.pop("settings", None)


@contextmanager
def unit(actor: str | None = None) -> Iterator[Session]:
    """One command, one transaction: nothing is half-written when a command fails."""
    with database().unit(actor=actor or _state.get("actor") or "cli") as session:
        yield session


def fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn domain errors into one line on stderr and a non-zero exit."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except SchemaTooNew as exc:  # not a mistake in this command: the install is too old
            raise fail(str(exc), code=2) from None
        except LessonloopError as exc:
            raise fail(str(exc)) from None
        except OperationalError as exc:
            raise fail(f"database: {str(exc.orig).splitlines()[0]}", code=2) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise fail(str(exc)) from None

    return wrapper


def to_jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    return value


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(to_jsonable(value), indent=2, ensure_ascii=False, default=str) + "\n")


#: Who the local CLI acts as: whoever can open the database file can read and write every row
#: anyway, so commands on a local file run as this named system job (``remote`` commands act as
#: the signed-in person through the API instead).
LOCAL = SystemActor("cli")
