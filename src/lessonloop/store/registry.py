"""What storage needs from the layers above it, registered by them: ``store`` imports nothing above.

:mod:`lessonloop.bootstrap` imports every model module (so :data:`metadata` is complete for
Alembic, relationships and exports) and registers the session hooks of the layers above (the
coach's scores, the optional embeddings) with :func:`register_session_hook`. The app, the CLI and
the tests import it first; a session factory made before that is refused (:func:`require_wired`),
because its writes would silently skip those hooks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from lessonloop.store.base import Base

#: Every table, once :mod:`lessonloop.bootstrap` has imported the model modules.
metadata = Base.metadata

SessionHook = Callable[[sessionmaker[Session]], object]


@dataclass(frozen=True)
class _Hook:
    name: str
    install: SessionHook
    feature: str | None  # installed only when this feature is on (e.g. "semantic")


_hooks: dict[str, _Hook] = {}
_wired = False


def register_session_hook(name: str, install: SessionHook, *, feature: str | None = None) -> None:
    """``install(factory)`` runs on every session factory made from now on (``name``: registering
    the same one again replaces it), or only on those with ``feature`` enabled."""
    _hooks[name] = _Hook(name, install, feature)


def mark_wired() -> None:
    """Called once the model modules are imported and the hooks registered."""
    global _wired
    _wired = True


class NotWired(RuntimeError):
    """Storage was used before the layers above registered themselves: a programming error."""


def require_wired() -> None:
    if not _wired:
        raise NotWired("storage is not wired: `import lessonloop.bootstrap` before opening a database")


def install_session_hooks(factory: sessionmaker[Session], features: frozenset[str]) -> None:
    require_wired()
    for hook in _hooks.values():
        if hook.feature is None or hook.feature in features:
            hook.install(factory)
