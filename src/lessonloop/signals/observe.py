"""What happens right after a failure is logged: "have we seen this before?".

The adapters (CLI `log`, API `POST /failures`, the log page) call :func:`after_logging` in the
same transaction: it finds the most similar earlier failures, suggests a repeat when one is
close enough, and opens or grows escalations for patterns that now cross the threshold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from lessonloop.escalations.models import Escalation
from lessonloop.escalations.service import EscalationPolicy, check_escalations
from lessonloop.failures.models import Failure
from lessonloop.signals.similar import SimilarMatch, similar_failures
from lessonloop.signals.text import tokens

# A suggestion, never an automatic link: a person confirms the repeat. Overlap is the share of
# the new failure's content words (stemmed) that the earlier failure's title and labels also
# have; 0.6 suggests only when most of what was said is said again.
REPEAT_OVERLAP = 0.6


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
    session: Session, failure: Failure, matches: list[SimilarMatch]
) -> tuple[SimilarMatch | None, float]:
    """The earlier match that most of the new failure's words repeat, if any reaches the bar."""
    best: tuple[SimilarMatch | None, float] = (None, 0.0)
    for match in matches:
        earlier = session.get(Failure, match.id)
        if earlier is None or earlier.detected_at > failure.detected_at:
            continue
        share = overlap(failure, earlier)
        if share >= REPEAT_OVERLAP and share > best[1]:
            best = (match, round(share, 2))
    return best


def after_logging(
    session: Session,
    failure: Failure,
    *,
    policy: EscalationPolicy | None = None,
    visible: Callable[[Failure], bool] | None = None,
    limit: int = 3,
    find_similar: bool = True,
) -> ObserveReport:
    """``find_similar=False``: only the escalation check (the API's ``POST /failures`` answers at
    once and leaves "have we seen this before?" to ``GET /failures/{id}/similar``)."""
    report = ObserveReport()
    if find_similar:
        report.similar = similar_failures(
            session,
            title=failure.title,
            text=failure.observation,
            labels=failure.labels,
            limit=limit,
            exclude_ids=[failure.id],
            visible=visible,
        )
        report.suggested_repeat, report.repeat_overlap = suggest_repeat(session, failure, report.similar)
    report.escalations = check_escalations(session, policy=policy)
    return report
