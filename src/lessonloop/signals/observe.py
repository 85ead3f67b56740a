"""Observe: logging a failure and what happens right after it, "have we seen this before?".

The adapters (CLI `log`, API `POST /failures`, the log page) call :func:`log_and_observe`, one
use case in one transaction: it logs the failure, finds the most similar earlier failures,
suggests a repeat when one is close enough, and opens or grows escalations for patterns that now
cross the threshold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor, SystemActor, is_system, require_actor
from lessonloop.escalations.models import Escalation
from lessonloop.escalations.service import EscalationPolicy, check_escalations, visible_escalations
from lessonloop.failures.models import Failure
from lessonloop.failures.schemas import LogFailure
from lessonloop.failures.service import log_failure
from lessonloop.signals.similar import SimilarMatch, similar_failures
from lessonloop.signals.text import tokens

# A suggestion, never an automatic link: a person confirms the repeat. Overlap is the share of
# the new failure's content words (stemmed) that the earlier failure's title and labels also
# have; 0.6 suggests only when most of what was said is said again.
REPEAT_OVERLAP = 0.6

#: The escalation check after a log runs as this job: patterns span failures the logger may not see.
ESCALATION_CHECK = SystemActor("escalation-check")


@dataclass
class ObserveReport:
    similar: list[SimilarMatch] = field(default_factory=list)
    suggested_repeat: SimilarMatch | None = None
    repeat_overlap: float = 0.0
    escalations: list[Escalation] = field(default_factory=list)


def overlap(new: Failure, earlier: Failure) -> float:
    mine = set(tokens(f"{new.title} {new.observation}"))
    if not mine:
        return 0.0
    theirs = set(tokens(f"{earlier.title} {earlier.observation} {' '.join(earlier.labels)}"))
    return len(mine & theirs) / len(mine)


def suggest_repeat(
    session: Session, failure: Failure, matches: list[SimilarMatch], *, viewer: Actor
) -> tuple[SimilarMatch | None, float]:
    """The earlier match that most of the new failure's words repeat, if any reaches the bar."""
    require_actor(viewer)
    best: tuple[SimilarMatch | None, float] = (None, 0.0)
    # The matches in one statement (and one per eager-loaded relationship), not one get each.
    ids = [m.id for m in matches]
    loaded = {f.id: f for f in session.scalars(select(Failure).where(Failure.id.in_(ids)))} if ids else {}
    for match in matches:
        earlier = loaded.get(match.id)
        if earlier is None or earlier.detected_at > failure.detected_at:
            continue
        share = overlap(failure, earlier)
        if share >= REPEAT_OVERLAP and share > best[1]:
            best = (match, round(share, 2))
    return best


def similar_to_failure(
    session: Session,
    failure: Failure,
    *,
    limit: int,
    visible: Callable[[Failure], bool] | None = None,
    viewer: Actor,
) -> tuple[list[SimilarMatch], SimilarMatch | None, float]:
    """ "Have we seen this before?" for a logged failure: the ``limit`` failures most like it that
    ``viewer`` may see (itself left out), and the earlier one to suggest as a repeat, with the
    share of words it repeats (:func:`suggest_repeat`). The page, the API and the report after
    logging all ask here."""
    similar = similar_failures(
        session,
        title=failure.title,
        text=failure.observation,
        labels=failure.labels,
        limit=limit,
        exclude_ids=[failure.id],
        visible=visible,
        viewer=viewer,
    )
    suggested, share = suggest_repeat(session, failure, similar, viewer=viewer)
    return similar, suggested, share


def after_logging(
    session: Session,
    failure: Failure,
    *,
    policy: EscalationPolicy | None = None,
    visible: Callable[[Failure], bool] | None = None,
    limit: int = 3,
    find_similar: bool = True,
    viewer: Actor,
) -> ObserveReport:
    """``find_similar=False``: only the escalation check (the API's ``POST /failures`` answers at
    once and leaves "have we seen this before?" to ``GET /failures/{id}/similar``)."""
    report = ObserveReport()
    if find_similar:
        report.similar, report.suggested_repeat, report.repeat_overlap = similar_to_failure(
            session, failure, limit=limit, visible=visible, viewer=viewer
        )
    # Patterns are found across every failure (a system job's view), but the logger is told only
    # about the escalations whose failures they may all see.
    found = check_escalations(session, policy=policy, viewer=ESCALATION_CHECK)
    report.escalations = found if is_system(viewer) else visible_escalations(session, found, viewer)
    return report


@dataclass
class Logged:
    """A failure just logged and what the loop noticed about it."""

    failure: Failure
    report: ObserveReport


def log_and_observe(
    session: Session,
    command: LogFailure,
    *,
    policy: EscalationPolicy | None = None,
    find_similar: bool = True,
    limit: int = 3,
    viewer: Actor,
) -> Logged:
    """Observe, in one call: log the failure, then check it against the patterns (escalations)
    and, with ``find_similar``, answer "have we seen this before?".

    The API, the CLI and the log page all call this, so no adapter can log a failure without the
    signals that follow it. ``find_similar=False`` leaves the similar failures to a later request
    (the API answers at once; ``GET /failures/{id}/similar`` has them)."""
    failure = log_failure(session, **command.model_dump(), viewer=viewer)
    report = after_logging(
        session, failure, policy=policy, find_similar=find_similar, limit=limit, viewer=viewer
    )
    return Logged(failure, report)
