"""Who is acting: a signed-in person or a named system job, never "nobody, so everything".

Every service that reads or writes loop records takes a required ``viewer: Actor``. There is no
default and ``None`` is refused at run time (:func:`require_actor`), so a forgotten check is a
``TypeError`` in the caller, not a silent "sees everything".

* :class:`~lessonloop.access.viewer.Viewer` — a signed-in person with their roles; reads are
  filtered by the policy and changes checked against it.
* :class:`SystemActor` — an explicit job named for what it does (``SystemActor("reminders")``,
  ``SystemActor("cli")``, ``SystemActor("import")``). It passes the policy's checks, because the
  job itself decides whom it serves: a job that builds something *for people* (a digest, a
  calendar feed, a notification) must build it as what each recipient may see, by turning the
  recipient into a :class:`Viewer` (:func:`~lessonloop.access.viewer.viewer_for`) and calling the
  services with that. The name lands in history and logs so a system change is attributable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

from typing_extensions import TypeIs

from lessonloop.access.viewer import Viewer


@dataclass(frozen=True)
class SystemActor:
    """A job acting on its own authority: the local CLI on its database file, the worker's
    reminders, an import, the demo loader, a migration. ``job`` names it."""

    job: str

    def __post_init__(self) -> None:
        if not isinstance(self.job, str) or not self.job.strip():
            raise ValueError("a SystemActor needs the name of its job")

    def __str__(self) -> str:
        return f"system:{self.job}"


Actor: TypeAlias = Viewer | SystemActor


class MissingActor(TypeError):
    """A service was called without saying who acts. A programming error, never a user's."""


def require_actor(actor: Any) -> Actor:
    """``actor`` if it is a :class:`Viewer` or a :class:`SystemActor`; raise otherwise.

    Services call this (through :mod:`lessonloop.access.scope`) before touching records, so a
    ``None`` smuggled past the type checker still fails closed.
    """
    if isinstance(actor, Viewer | SystemActor):
        return actor
    raise MissingActor(
        f"no actor given (got {actor!r}): pass the signed-in Viewer or an explicit SystemActor('job')"
    )


def is_system(actor: Actor | None) -> TypeIs[SystemActor]:
    """True for a named system job (which the policy checks let through); ``None`` raises."""
    return isinstance(require_actor(actor), SystemActor)


def is_person(actor: Actor | None) -> TypeIs[Viewer]:
    """True for a signed-in person (whom the policy filters); ``None`` raises."""
    return isinstance(require_actor(actor), Viewer)


def person_id_of(actor: Actor) -> int | None:
    """The acting person's id, or ``None`` for a system job."""
    actor = require_actor(actor)
    return actor.person_id if isinstance(actor, Viewer) else None
