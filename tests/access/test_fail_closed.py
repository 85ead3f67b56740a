"""Fail closed: no service that reads or writes records can be called without saying who acts.

The walk below imports every module of the concept packages (the layer the API, the pages, the
CLI, the worker and the imports all call) and checks each public function that takes a
``session``: it must have a required parameter typed ``Actor`` (a signed-in ``Viewer`` or a named
``SystemActor``), with no default and no ``None``. The few that may not are listed in
``EXEMPT`` with the reason; an entry that no longer exists fails too, so the list cannot rot.

At run time ``None`` is refused as well (the type checker is not the only guard): the second
half calls the main entry points with ``viewer=None`` and expects ``MissingActor``.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

import lessonloop
from lessonloop.access import scope
from lessonloop.access.actor import MissingActor, SystemActor, is_person, is_system, require_actor
from lessonloop.access.viewer import Viewer

#: Packages that are adapters or the storage layer below the services, not services themselves.
NOT_SERVICES = {"api", "web", "cli", "remote", "store"}
#: Modules inside a concept package that are HTTP adapters (an integration's own ``/api/v1``
#: routes): like ``api/``, their viewer comes from the ``CurrentViewer`` dependency, which answers
#: 401 without a signed-in person, and the route matrix checks who may call them.
ADAPTER_MODULES = {"api"}
#: Annotations that name an actor and admit no ``None``.
ACTOR_TYPES = {"Actor", "Viewer", "SystemActor"}

IDENTITY = (
    "the identity layer: establishes who acts (sign-in, sessions, tokens) or changes one's own credentials"
)
POLICY = "the policy itself: a predicate on a viewer, where anything but a Viewer is granted nothing"
EXEMPT: dict[str, str] = {
    "lessonloop.access.policy.can_see": POLICY,
    "lessonloop.access.policy.can_see_assumption": POLICY,
    "lessonloop.access.policy.can_see_escalation": POLICY,
    "lessonloop.access.policy.escalation_audience": POLICY + " (can_see_escalation for many viewers at once)",
    "lessonloop.access.policy.escalation_audiences": POLICY
    + " (escalation_audience for several escalations)",
    "lessonloop.access.policy.escalations_seen": POLICY
    + " (can_see_escalation for many escalations at once)",
    "lessonloop.access.policy.failure_of": POLICY + " (which failure a record inherits from)",
    "lessonloop.access.policy.require_visible": POLICY,
    "lessonloop.access.viewer.viewer_for": "builds the Viewer of a person: the actor itself",
    "lessonloop.access.viewer.viewers_for": "builds the Viewers of people: the actors themselves",
    "lessonloop.accounts.service.account_of": IDENTITY,
    "lessonloop.accounts.service.authenticate": IDENTITY,
    "lessonloop.accounts.service.change_password": IDENTITY + " (the current password is the permission)",
    "lessonloop.accounts.service.end_all_sessions": IDENTITY,
    "lessonloop.accounts.service.end_session": IDENTITY,
    "lessonloop.accounts.service.has_accounts": IDENTITY + " (is there a first admin yet?)",
    "lessonloop.accounts.service.issue_token": IDENTITY,
    "lessonloop.accounts.service.list_tokens": IDENTITY,
    "lessonloop.accounts.service.purge_expired_sessions": IDENTITY,
    "lessonloop.accounts.service.resolve_session": IDENTITY,
    "lessonloop.accounts.service.resolve_token": IDENTITY,
    "lessonloop.accounts.service.revoke_token": IDENTITY,
    "lessonloop.accounts.service.start_session": IDENTITY,
    "lessonloop.accounts.service.token_holder": IDENTITY + " (resolve_token's read-only fast path)",
    "lessonloop.calendars.service.resolve": "resolves a feed's secret token: the token is the credential",
    "lessonloop.calendars.service.feed": (
        "the feed token is the credential; the feed is read as its holder's Viewer (a team's: a plain member)"
    ),
    "lessonloop.portability.workspace.nonempty_tables": "counts rows to tell an empty workspace",
    "lessonloop.portability.workspace.workspace_is_empty": "counts rows to tell an empty workspace",
    "lessonloop.signals.annotate.annotate_flush": "a flush hook: stores the coach's scores on whatever is written",
    "lessonloop.signals.semantic.embedding_flush": "a flush hook: keeps the embedding index in step with writes",
    "lessonloop.signals.semantic.all_failure_ids": "the embedding index (ids and vectors, no records out)",
    "lessonloop.signals.semantic.embed_failures": "the embedding index (ids and vectors, no records out)",
    "lessonloop.signals.semantic.matrix": "the embedding index (ids and vectors, no records out)",
    "lessonloop.signals.semantic.semantic_scores": "the embedding index: scores by id; similar_failures filters them",
    "lessonloop.signals.semantic.write_embeddings": "the embedding index (ids and vectors, no records out)",
}


def service_functions() -> dict[str, Callable[..., Any]]:
    found: dict[str, Callable[..., Any]] = {}
    for info in pkgutil.walk_packages(lessonloop.__path__, "lessonloop."):
        parts = info.name.split(".")
        if len(parts) < 3 or parts[1] in NOT_SERVICES or parts[-1] in {"models", "schemas", *ADAPTER_MODULES}:
            continue
        module = importlib.import_module(info.name)
        for name, func in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("_") or func.__module__ != info.name:
                continue
            if "session" in inspect.signature(func).parameters:
                found[f"{info.name}.{name}"] = func
    return found


def actor_problem(func: Callable[..., Any]) -> str | None:
    """Why ``func`` does not demand an actor, or None when it does."""
    params = [p for p in inspect.signature(func).parameters.values() if str(p.annotation) in ACTOR_TYPES]
    if not params:
        annotated = [
            f"{p.name}: {p.annotation}"
            for p in inspect.signature(func).parameters.values()
            if "Viewer" in str(p.annotation) or "Actor" in str(p.annotation)
        ]
        return f"no required actor parameter{' (has ' + ', '.join(annotated) + ')' if annotated else ''}"
    if any(p.default is not inspect.Parameter.empty for p in params):
        return "its actor parameter has a default"
    return None


def test_the_walk_finds_the_services() -> None:
    """A walk that found nothing would pass vacuously."""
    functions = service_functions()
    assert len(functions) > 150
    for expected in (
        "lessonloop.failures.service.log_failure",
        "lessonloop.failures.service.list_failures",
        "lessonloop.reviews.service.conduct_review",
        "lessonloop.followthrough.digests.build_team_digest",
        "lessonloop.notifications.service.claim",
        "lessonloop.signals.similar.similar_failures",
        "lessonloop.portability.native.export_workspace",
    ):
        assert expected in functions


def test_every_source_folder_is_a_package() -> None:
    """A folder without ``__init__.py`` is a namespace package that ``walk_packages`` never enters:
    its services would escape the walk (the Slack integration once did)."""
    root = Path(lessonloop.__file__).parent
    skip = {"templates", "static", "__pycache__", "migrations"}
    missing = [
        str(folder.relative_to(root))
        for folder in root.rglob("*")
        if folder.is_dir()
        and not skip & set(folder.relative_to(root).parts)
        and any(folder.glob("*.py"))
        and not (folder / "__init__.py").exists()
    ]
    assert missing == []


def test_every_service_demands_an_actor() -> None:
    problems = {
        name: why
        for name, func in service_functions().items()
        if name not in EXEMPT and (why := actor_problem(func)) is not None
    }
    assert problems == {}, "services callable without an actor:\n" + "\n".join(
        f"  {name}: {why}" for name, why in sorted(problems.items())
    )


def test_the_exemptions_are_real_and_reasoned() -> None:
    functions = service_functions()
    assert sorted(set(EXEMPT) - set(functions)) == []  # stale entries fail: remove them
    assert all(len(reason) > 20 for reason in EXEMPT.values())


def test_the_walk_catches_a_missing_actor() -> None:
    """The check itself: a default, a ``None`` or no actor at all are each reported."""

    def no_actor(session: Session) -> None: ...
    def defaulted(session: Session, *, viewer: Any = SystemActor("x")) -> None: ...
    def optional(session: Session, *, viewer: Viewer | None) -> None: ...

    defaulted.__annotations__["viewer"] = "Actor"
    optional.__annotations__["viewer"] = "Viewer | None"
    assert actor_problem(no_actor) == "no required actor parameter"
    assert actor_problem(defaulted) == "its actor parameter has a default"
    assert actor_problem(optional) == "no required actor parameter (has viewer: Viewer | None)"


# -- at run time ---------------------------------------------------------------------------------


def test_none_is_refused_by_the_actor_helpers() -> None:
    for check in (require_actor, is_person, is_system):
        with pytest.raises(MissingActor):
            check(None)
    with pytest.raises(ValueError):
        SystemActor("  ")
    assert is_system(SystemActor("reminders")) and not is_person(SystemActor("reminders"))
    assert is_person(Viewer(person_id=1)) and not is_system(Viewer(person_id=1))
    assert str(SystemActor("reminders")) == "system:reminders"


def test_none_is_refused_by_the_scope_helpers(session: Session) -> None:
    from lessonloop.failures.models import Failure

    failure = Failure(id=1, title="x", visibility="org")
    for call in (
        lambda: scope.require_failure_seen(None, failure),  # type: ignore[arg-type]
        lambda: scope.require_failure_editable(None, failure),  # type: ignore[arg-type]
        lambda: scope.require_directory_admin(None, "add people"),  # type: ignore[arg-type]
        lambda: scope.require_team_manager(None, 1),  # type: ignore[arg-type]
    ):
        with pytest.raises(MissingActor):
            call()


def _entry_points() -> list[tuple[str, Callable[[Session], Any]]]:
    from lessonloop.actions import service as actions
    from lessonloop.failures import overview
    from lessonloop.failures import service as failures
    from lessonloop.lessons import service as lessons
    from lessonloop.portability.native import export_workspace
    from lessonloop.search.service import search
    from lessonloop.signals.metrics import compute_metrics
    from lessonloop.signals.similar import similar_failures

    def export(s: Session) -> Any:
        import io

        return export_workspace(s, io.StringIO(), viewer=None)  # type: ignore[arg-type]

    return [
        ("log_failure", lambda s: failures.log_failure(s, title="x", viewer=None)),  # type: ignore[arg-type]
        ("list_failures", lambda s: failures.list_failures(s, viewer=None)),  # type: ignore[arg-type]
        ("get_failure", lambda s: failures.get_failure(s, 1, viewer=None)),  # type: ignore[arg-type]
        ("failure_overview", lambda s: overview.failure_overview(s, 1, viewer=None)),  # type: ignore[arg-type]
        ("list_actions", lambda s: actions.list_actions(s, viewer=None)),  # type: ignore[arg-type]
        ("list_lessons", lambda s: lessons.list_lessons(s, viewer=None)),  # type: ignore[arg-type]
        ("search", lambda s: search(s, "outage", viewer=None)),  # type: ignore[arg-type]
        ("search, empty query", lambda s: search(s, "", viewer=None)),  # type: ignore[arg-type]
        ("similar_failures", lambda s: similar_failures(s, title="outage", viewer=None)),  # type: ignore[arg-type]
        ("compute_metrics", lambda s: compute_metrics(s, viewer=None)),  # type: ignore[arg-type]
        ("export_workspace", export),
    ]


@pytest.mark.parametrize("name", [name for name, _ in _entry_points()])
def test_entry_points_refuse_none(session: Session, name: str) -> None:
    from tests.factories import failure

    failure(session, title="Database outage during the release")
    call = dict(_entry_points())[name]
    with pytest.raises(MissingActor):
        call(session)
