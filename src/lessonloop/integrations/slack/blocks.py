"""Slack Block Kit: the log modal, the replies, and the direct messages with their buttons.

Pure functions from lessonloop's data to Slack's JSON; nothing here reads the database or calls
Slack. Text typed by people is escaped (:func:`escape`) so a title can never ping a channel
(``<!channel>``) or pose as a link. The ``action_id``s and ``callback_id``s below are what
``bolt_app.py`` listens for.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from lessonloop.failures.models import KIND_LABELS, FailureKind, Severity
from lessonloop.signals.similar import SimilarMatch

LOG_CALLBACK = "ll_log"
DONE_CALLBACK = "ll_done"
OBSERVE_CALLBACK = "ll_observe"
SHORTCUT_CALLBACK = "ll_log_failure"

DONE = "ll_done"
SNOOZE = "ll_snooze"
NOT_YET = "ll_not_yet"
OBSERVE = "ll_observe"
WORKED_PREFIX = "ll_worked_"  # + yes | partly | no

#: Slack's limits: a plain_text field ≤ 3000 characters, a modal title ≤ 24, a section ≤ 3000.
_TEXT_MAX = 2900
_INITIAL_MAX = 3000


def escape(text: str) -> str:
    """Escape the three characters Slack treats as markup (mentions, ``<!channel>``, links)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(base_url: str, path: str, label: str) -> str:
    """``<url|label>`` when lessonloop's address is known, else just the label."""
    label = escape(label).replace("|", "¦")
    return f"<{base_url}{path}|{label}>" if base_url else label


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:_TEXT_MAX], "emoji": False}


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:_TEXT_MAX]}}


def _option(value: str, label: str) -> dict[str, Any]:
    return {"text": _plain(label[:75]), "value": value}


def _select(block_id: str, label: str, options: list[tuple[str, str]], initial: str | None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "static_select",
        "action_id": "value",
        "options": [_option(v, lbl) for v, lbl in options[:100]],
    }
    if initial is not None:
        element["initial_option"] = _option(initial, dict(options)[initial])
    return {
        "type": "input",
        "block_id": block_id,
        "optional": True,
        "label": _plain(label),
        "element": element,
    }


def _text_input(
    block_id: str, label: str, *, optional: bool, multiline: bool = False, initial: str = "", hint: str = ""
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": "value", "multiline": multiline}
    if initial:
        element["initial_value"] = initial[:_INITIAL_MAX]
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": _plain(label),
        "element": element,
    }
    if hint:
        block["hint"] = _plain(hint)
    return block


def log_modal(
    *, teams: Sequence[tuple[int, str]], title: str = "", description: str = "", metadata: dict[str, Any]
) -> dict[str, Any]:
    """The "Log a failure" modal: only the title is required, as on the web form."""
    blocks = [
        _text_input("title", "What went wrong? (title)", optional=False, initial=title),
        _text_input("description", "What happened", optional=True, multiline=True, initial=description),
        _select("kind", "Kind", [(k.value, KIND_LABELS.get(k, k.value)) for k in FailureKind], None),
    ]
    if teams:
        blocks.append(_select("team", "Team", [(str(i), name) for i, name in teams], None))
    blocks += [
        _select("severity", "Severity", [(s.value, s.value) for s in Severity], Severity.medium.value),
        _text_input("labels", "Labels", optional=True, hint="Comma-separated, e.g. vendor, handoff"),
    ]
    return {
        "type": "modal",
        "callback_id": LOG_CALLBACK,
        "title": _plain("Log a failure"),
        "submit": _plain("Log it"),
        "close": _plain("Cancel"),
        "private_metadata": json.dumps(metadata),
        "blocks": blocks,
    }


#: The modal's block ids for the service's field names, so a refusal lands beside its field.
LOG_FIELD_BLOCKS = {
    "title": "title",
    "observation": "description",
    "kind": "kind",
    "severity": "severity",
    "team": "team",
    "labels": "labels",
}


def read_log_values(state: dict[str, Any]) -> dict[str, Any]:
    """The submitted modal's values by the service's field names (absent fields left out)."""

    def value(block: str) -> str | None:
        entry = state.get(block, {}).get("value", {})
        if entry.get("type") == "static_select":
            chosen = entry.get("selected_option") or {}
            return chosen.get("value")
        return entry.get("value")

    out: dict[str, Any] = {
        "title": value("title") or "",
        "observation": value("description") or "",
        "labels": [p for p in (value("labels") or "").split(",") if p.strip()],
    }
    for name in ("kind", "severity", "team"):
        chosen = value(name)
        if chosen:
            out[name] = chosen
    return out


def logged_reply(
    *, failure_id: int, title: str, matches: Sequence[SimilarMatch], base_url: str
) -> tuple[str, list[dict[str, Any]]]:
    """The reply after logging: the failure, then "Have we seen this before?" with links."""
    head = f"Logged failure #{failure_id}: {link(base_url, f'/failures/{failure_id}', title)}"
    if matches:
        lines = []
        for m in matches:
            line = f"• {link(base_url, f'/failures/{m.id}', f'#{m.id} {m.title}')}"
            if m.root_cause:
                line += f" — root cause: {escape(m.root_cause)}"
            lines.append(line)
        seen = "*Have we seen this before?* These look alike:\n" + "\n".join(lines)
    else:
        seen = "*Have we seen this before?* Nothing similar that you may see has been logged."
    return f"Logged failure #{failure_id}: {escape(title)}", [section(head), section(seen)]


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {"type": "button", "text": _plain(text), "action_id": action_id, "value": value}
    if style:
        button["style"] = style
    return button


def notification_blocks(kind: str, record_id: int | None, subject: str, body: str) -> list[dict[str, Any]]:
    """A notification as a direct message; prompts about a record get their answer buttons.

    * ``reminder`` (an action): done (asks for evidence), snooze to a date, not yet;
    * ``review-check`` (an action's review date): "Did this work?" yes / partly / no;
    * ``experiment-end``: record the measurement (the verdict is computed from it).
    """
    blocks = [section(f"*{escape(subject)}*\n{escape(body)}")]
    if record_id is None:
        return blocks
    rid = str(record_id)
    if kind == "reminder":
        blocks.append(
            {
                "type": "actions",
                "block_id": f"reminder-{rid}",
                "elements": [
                    _button("Done", DONE, rid, "primary"),
                    {
                        "type": "datepicker",
                        "action_id": SNOOZE,
                        "placeholder": _plain("Snooze to a date"),
                    },
                    _button("Not yet", NOT_YET, rid),
                ],
            }
        )
    elif kind == "review-check":
        blocks.append(section("*Did this work?*"))
        blocks.append(
            {
                "type": "actions",
                "block_id": f"check-{rid}",
                "elements": [
                    _button("Yes", WORKED_PREFIX + "yes", rid, "primary"),
                    _button("Partly", WORKED_PREFIX + "partly", rid),
                    _button("No", WORKED_PREFIX + "no", rid, "danger"),
                ],
            }
        )
    elif kind == "experiment-end":
        blocks.append(
            {
                "type": "actions",
                "block_id": f"experiment-{rid}",
                "elements": [_button("Record the measurement", OBSERVE, rid, "primary")],
            }
        )
    return blocks


def evidence_modal(*, action_id: int, title: str, metadata: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": DONE_CALLBACK,
        "title": _plain("Mark done"),
        "submit": _plain("Mark done"),
        "close": _plain("Cancel"),
        "private_metadata": json.dumps(metadata | {"action_id": action_id}),
        "blocks": [
            section(f"Action #{action_id}: {escape(title)}"),
            _text_input(
                "evidence",
                "Evidence it is done",
                optional=False,
                multiline=True,
                hint="What shows it is done: a link, a merged change, a meeting note.",
            ),
        ],
    }


def observe_modal(*, experiment_id: int, metric: str, metadata: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": OBSERVE_CALLBACK,
        "title": _plain("Record a measurement"),
        "submit": _plain("Record"),
        "close": _plain("Cancel"),
        "private_metadata": json.dumps(metadata | {"experiment_id": experiment_id}),
        "blocks": [
            _text_input("value", f"{metric[:1900]} (a number)", optional=False),
            _text_input("note", "Note", optional=True, multiline=True),
        ],
    }
