"""The extra questions a review template asks, and the built-in default template of each failure kind.

Plain data (no database): the schemas, the template service and the pages read it. An org admin's
edit of a kind's template (:mod:`lessonloop.reviews.templates`) replaces the default here.
"""

from __future__ import annotations

import enum
import re
from typing import Any

from lessonloop.failures.models import FailureKind

KEY_MAX = 40
KEY_PATTERN = r"^([a-z][a-z0-9_]{0,39})?$"
LABEL_MAX = 200
TIME_MAX = 40
LIST_ITEMS_MAX = 10
QUESTIONS_MAX = 20
TIMELINE_MAX = 50


class QuestionType(enum.StrEnum):
    text = "text"
    list = "list"  # up to max_items entries, e.g. the 5 whys
    timeline = "timeline"  # lines of time + text


TYPE_HELP = {
    QuestionType.text.value: "a written answer",
    QuestionType.list.value: "a short list (e.g. five whys)",
    QuestionType.timeline.value: "lines of time and what happened",
}


def key_from_label(label: str) -> str:
    """A question key made from its label: "Five whys?" → ``five_whys``."""
    key = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")
    if not key or not key[0].isalpha():
        key = f"q_{key}".rstrip("_")
    return key[:40].rstrip("_")


def _q(key: str, label: str, help: str = "", type: str = "text", max_items: int = 5) -> dict[str, Any]:
    return {"key": key, "label": label, "help": help, "type": type, "required": False, "max_items": max_items}


FIVE_WHYS = _q(
    "five_whys",
    "Five whys",
    "Ask 'why?' of the failure, then of each answer, up to five times. Stop at a condition, not a person.",
    "list",
)


def _timeline(label: str, help: str = "What happened when, as it was known at the time.") -> dict[str, Any]:
    return _q("timeline", label, help, "timeline")


#: The default extra questions per failure kind, in order. All optional.
DEFAULT_QUESTIONS: dict[str, list[dict[str, Any]]] = {
    FailureKind.missed_deadline.value: [
        _timeline("How the date slipped", "Each commitment, re-plan and signal, with its date."),
        _q(
            "first_signal",
            "When did we first know the date was at risk, and what did we do with it?",
            "The earliest signal, even a weak one, and who could act on it.",
        ),
        FIVE_WHYS,
    ],
    FailureKind.churn_after_change.value: [
        _timeline("Timeline of the change and the churn"),
        _q(
            "customer_signal",
            "Which signal told us customers were unhappy, and how long after the change?",
            "Tickets, cancellations, reviews, usage: where it showed first.",
        ),
        _q("affected", "Which customers or segments were affected?"),
    ],
    FailureKind.wrong_assumption.value: [
        _q(
            "assumption_elsewhere",
            "Where else does the same assumption or model live?",
            "Other models, dashboards, plans or decisions built on it: one per entry.",
            "list",
        ),
        _q(
            "earlier_test",
            "How could we have tested the assumption earlier, and more cheaply?",
            "A smaller experiment, a back-test, a check against fresh data.",
        ),
        FIVE_WHYS,
    ],
    FailureKind.handoff_breakdown.value: [
        _timeline("Timeline of the hand-off"),
        _q(
            "handed_over",
            "What was handed over, and what was not?",
            "The information, decisions and open questions, and where each one lived.",
        ),
        _q(
            "needed_to_know",
            "Who needed to know what, and how would they have found it?",
        ),
    ],
    FailureKind.changed_conditions.value: [
        _q(
            "early_signal",
            "Which early signal of the change did we have?",
            "Market data, customer conversations, a competitor's move: what was visible, and when.",
        ),
        _q(
            "watch_next_time",
            "What would we watch next time?",
            "Leading indicators worth a regular look: one per entry.",
            "list",
        ),
    ],
    FailureKind.skipped_check.value: [
        _q(
            "easy_path",
            "What made skipping the check the easy path?",
            "Time pressure, tooling, unclear ownership: the conditions, not the person.",
        ),
        FIVE_WHYS,
    ],
    FailureKind.knowledge_gap.value: [
        _q(
            "knowledge_left",
            "Which knowledge was missing, and where should it have been written down?",
        ),
        _q(
            "single_holders",
            "What else is known by only one person?",
            "Systems, customers or routines with a single holder: one per entry.",
            "list",
        ),
    ],
    FailureKind.resource_squeeze.value: [
        _q(
            "trade_off",
            "What was traded off, and who decided with what information?",
            "The options on the table and what each would have cost.",
        ),
        _timeline("Timeline of the squeeze"),
    ],
    FailureKind.ambiguous_metric.value: [
        _q(
            "readings",
            "How did different people read the metric?",
            "One reading per entry: who read it that way is not needed.",
            "list",
        ),
        _q("definition", "What precise definition would have prevented it?"),
    ],
    FailureKind.other.value: [
        _timeline("Timeline"),
        FIVE_WHYS,
    ],
}
