"""The loop from the command line: observe → interpret → act → re-evaluate.

    lessonloop log "Checkout release missed the launch date" --team Payments
    lessonloop review 12                      # or: --file review.md / review.yaml
    lessonloop action done 7 --evidence "checklist step merged"
    lessonloop experiment observe 3 0.92
    lessonloop lesson add "Ask for dated commitments" --learned "..." --failure 12 --publish
    lessonloop status 12 learned

Every command is one transaction. Options are taken as text and handed to the services, which
name the field at fault on bad input (one line, exit code 1).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token
from rich.text import Text
from sqlalchemy.orm import Session

from lessonloop.actions import service as actions
from lessonloop.actions.schemas import ActionOut, AddAction, CompleteAction, DropAction, EditAction
from lessonloop.cli import common, render
from lessonloop.cli.app import app
from lessonloop.cli.common import LOCAL
from lessonloop.coerce import as_date, as_enum, as_text
from lessonloop.errors import Invalid, LessonloopError
from lessonloop.escalations.service import EscalationPolicy
from lessonloop.experiments import service as experiments
from lessonloop.experiments.schemas import (
    AddExperiment,
    EditExperiment,
    EditObservation,
    ExperimentOut,
    RecordObservation,
)
from lessonloop.failures import service as failures
from lessonloop.failures.models import FailureKind, FailureStatus, Severity, Visibility
from lessonloop.failures.overview import failure_overview
from lessonloop.failures.schemas import ConfirmRepeat, EditFailure, FailureOut, LogFailure, MoveFailure
from lessonloop.fields import lines_of, parse_command
from lessonloop.lessons import service as lessons
from lessonloop.lessons.schemas import EditLesson, LessonOut, RetractLesson, WriteLesson
from lessonloop.people import service as people
from lessonloop.people.schemas import PersonOut
from lessonloop.reviews import service as reviews
from lessonloop.reviews import templates as review_templates
from lessonloop.reviews.models import AssumptionStatus, GapType
from lessonloop.reviews.schemas import AssumptionOut, ConductReview, ReviseReview
from lessonloop.search.service import search as search_index
from lessonloop.signals.observe import log_and_observe
from lessonloop.store.search import KIND_CODES

JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")


def _values(enum_type: Any) -> str:
    return ", ".join(str(m.value) for m in enum_type)


def _present(values: Sequence[str] | None) -> list[str]:
    return [v for v in (values or []) if v.strip()]


def _page_size(value: int | None) -> int:
    return value if value is not None else common.settings().default_page_size


# --- observe ----------------------------------------------------------------------------------


@app.command("log")
@common.handle_errors
def log(
    title: str = typer.Argument(..., help="One line: what went wrong."),
    what: str = typer.Option("", "--what", "-w", help="What happened, in a few sentences."),
    kind: str = typer.Option("other", "--kind", "-k", help=f"One of: {_values(FailureKind)}."),
    severity: str = typer.Option("medium", "--severity", "-s", help=f"One of: {_values(Severity)}."),
    visibility: str = typer.Option("team", "--visibility", help=f"One of: {_values(Visibility)}."),
    team: str | None = typer.Option(None, "--team", "-t", help="Team id or name."),
    reporter: str | None = typer.Option(None, "--reporter", help="Who reports it (id, handle, e-mail)."),
    person: list[str] | None = typer.Option(None, "--person", "-p", help="Someone involved (repeatable)."),
    label: list[str] | None = typer.Option(None, "--label", "-l", help="A tag or cause label (repeatable)."),
    impact: str = typer.Option("", "--impact", help="The impact, in words."),
    impact_value: str | None = typer.Option(None, "--impact-value", help="The impact as a number."),
    impact_unit: str | None = typer.Option(None, "--impact-unit", help="Unit of --impact-value (EUR, h…)."),
    occurred: str | None = typer.Option(None, "--occurred", help="When it happened (ISO date or time)."),
    detected: str | None = typer.Option(None, "--detected", help="When it was noticed (default: now)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the new id."),
    as_json: bool = JSON,
) -> None:
    """Log a failure: only the title is needed. Prints the new id."""
    with common.unit() as session:
        command = parse_command(
            LogFailure,
            {
                "title": title,
                "observation": what,
                "kind": kind,
                "severity": severity,
                "visibility": visibility,
                "team": team,
                "reporter": reporter,
                "people": person or [],
                "labels": label or [],
                "impact": impact,
                "impact_value": impact_value,
                "impact_unit": impact_unit,
                "occurred_at": occurred,
                "detected_at": detected,
            },
        )
        logged = log_and_observe(
            session, command, policy=EscalationPolicy.from_settings(common.settings()), viewer=LOCAL
        )
        result, report = FailureOut.model_validate(logged.failure), logged.report
        similar = [m.to_dict() for m in report.similar]
        repeat = report.suggested_repeat.id if report.suggested_repeat else None
        opened = [(e.id, e.subject, e.count) for e in report.escalations]
    if as_json:
        common.print_json(result)
    elif quiet:
        common.console.print(result.id)
    else:
        render.say(f"logged failure {result.id}: {result.title}")
        if similar:
            render.say("have we seen this before?")
            for m in similar:
                cause = f" — root cause: {m['root_cause']}" if m.get("root_cause") else ""
                render.say(f"  #{m['id']} {m['title']}{cause}")
                if m.get("primary_action"):
                    render.say(f"      action: {m['primary_action']}")
                for lesson in m.get("lessons") or []:
                    render.say(f"      lesson: {lesson}")
        if repeat is not None:
            render.hint(f"this looks like a repeat of #{repeat}: lessonloop repeat {result.id} --of {repeat}")
        for eid, subject, count in opened:
            render.say(f"escalation #{eid}: {subject} ({count} failures) — lessonloop escalations list")
        render.hint(f"next: lessonloop review {result.id}")


@app.command("failures")
@common.handle_errors
def failure_list(
    team: str | None = typer.Option(None, "--team", "-t", help="Team id or name."),
    status: str | None = typer.Option(None, "--status", help=f"One of: {_values(FailureStatus)}."),
    kind: str | None = typer.Option(None, "--kind", "-k", help=f"One of: {_values(FailureKind)}."),
    severity: str | None = typer.Option(None, "--severity", "-s", help=f"One of: {_values(Severity)}."),
    label: str | None = typer.Option(None, "--label", "-l", help="Only failures with this label."),
    since: str | None = typer.Option(None, "--since", help="Detected on or after (ISO date or time)."),
    until: str | None = typer.Option(None, "--until", help="Detected before (ISO date or time)."),
    page: int = typer.Option(1, "--page", help="Page number."),
    page_size: int | None = typer.Option(None, "--page-size", help="Rows per page (default 50)."),
    as_json: bool = JSON,
) -> None:
    """List failures, the most recently detected first."""
    with common.unit() as session:
        result = failures.list_failures(
            session,
            team=team,
            status=status,
            kind=kind,
            severity=severity,
            label=label,
            since=since,
            until=until,
            page=page,
            page_size=_page_size(page_size),
            viewer=LOCAL,
        )
        items = [(FailureOut.model_validate(f), f.team.name if f.team else "") for f in result.items]
    if as_json:
        common.print_json(render.page_json(result, [f for f, _ in items]))
        return
    if items:
        render.out(render.failures_table(items))
    render.page_footer(result, "failure")


@app.command("show")
@common.handle_errors
def show(
    failure_id: str = typer.Argument(..., help="Failure id."),
    as_json: bool = JSON,
) -> None:
    """Show a failure with its review, actions, experiments, lessons, next steps and history."""
    with common.unit() as session:
        overview = failure_overview(session, failure_id, viewer=LOCAL)
        failure = failures.get_failure(session, overview.failure.id, viewer=LOCAL)
        team = failure.team.name if failure.team else ""
        reporter = failure.reporter.handle if failure.reporter else ""
    if as_json:
        common.print_json(overview)
        return
    render.out(render.overview(overview, team=team, reporter=reporter))


@app.command("history")
@common.handle_errors
def history(
    failure_id: str = typer.Argument(..., help="Failure id."),
    as_json: bool = JSON,
) -> None:
    """Every change to a failure, its review and its actions: who, when, old → new."""
    with common.unit() as session:
        entries = failure_overview(session, failure_id, viewer=LOCAL).history
    if as_json:
        common.print_json(entries)
        return
    render.out(render.history_table(entries))


@app.command("status")
@common.handle_errors
def status(
    failure_id: str = typer.Argument(..., help="Failure id."),
    target: str = typer.Argument(..., help="in-review, acting, re-evaluating or learned."),
) -> None:
    """Move a failure through the loop (the rules say which moves are allowed)."""
    with common.unit() as session:
        command = parse_command(MoveFailure, {"status": target.strip().lower().replace("_", "-")})
        before = failures.get_failure(session, failure_id, viewer=LOCAL).status
        failure = failures.transition(session, failure_id, command.status, viewer=LOCAL)
        fid, after = failure.id, failure.status
    render.say(f"failure {fid}: {before} → {after}")


@app.command("repeat")
@common.handle_errors
def repeat(
    failure_id: str = typer.Argument(..., help="The later failure."),
    of: str | None = typer.Option(None, "--of", help="The earlier failure it repeats."),
) -> None:
    """Confirm that a failure repeats an earlier one."""
    if of is None or not of.strip():
        raise Invalid("is required: the id of the earlier failure it repeats", field="of")
    command = parse_command(ConfirmRepeat, {"repeat_of": of.strip()})
    with common.unit() as session:
        failure = failures.confirm_repeat(session, failure_id, command.repeat_of, viewer=LOCAL)
        fid, repeat_of = failure.id, failure.repeat_of_id
    render.say(f"failure {fid} repeats failure {repeat_of} (status repeated)")
    render.hint(f"review it: lessonloop review {fid}")


@app.command("edit")
@common.handle_errors
def edit(
    failure_id: str = typer.Argument(..., help="Failure id."),
    title: str | None = typer.Option(None, "--title"),
    what: str | None = typer.Option(None, "--what", "-w", help="What happened."),
    kind: str | None = typer.Option(None, "--kind", "-k", help=f"One of: {_values(FailureKind)}."),
    severity: str | None = typer.Option(None, "--severity", "-s", help=f"One of: {_values(Severity)}."),
    visibility: str | None = typer.Option(None, "--visibility", help=f"One of: {_values(Visibility)}."),
    team: str | None = typer.Option(None, "--team", "-t", help="Team id or name ('' to clear)."),
    person: list[str] | None = typer.Option(
        None, "--person", "-p", help="Replaces the people involved (repeatable; '' clears)."
    ),
    label: list[str] | None = typer.Option(
        None, "--label", "-l", help="Replaces the labels (repeatable; '' clears)."
    ),
    reporter: str | None = typer.Option(
        None, "--reporter", help="Who reported it: a handle, e-mail or id ('' clears)."
    ),
    impact: str | None = typer.Option(None, "--impact"),
    impact_value: str | None = typer.Option(None, "--impact-value"),
    impact_unit: str | None = typer.Option(None, "--impact-unit"),
    occurred: str | None = typer.Option(None, "--occurred", help="ISO date or time ('' to clear)."),
    detected: str | None = typer.Option(None, "--detected", help="ISO date or time."),
    url: str | None = typer.Option(None, "--url"),
    company: str | None = typer.Option(None, "--company"),
) -> None:
    """Change a failure's fields; only the options given change."""
    given: dict[str, Any] = {
        "title": title,
        "observation": what,
        "kind": kind,
        "severity": severity,
        "visibility": visibility,
        "team": team,
        "people": _present(person) if person is not None else None,
        "labels": label,
        "reporter": reporter,
        "impact": impact,
        "impact_value": impact_value,
        "impact_unit": impact_unit,
        "occurred_at": occurred,
        "detected_at": detected,
        "url": url,
        "company": company,
    }
    # Only the options given are sent, so the command's "fields set" are the changes; '' clears.
    sent = {key: value for key, value in given.items() if value is not None}
    if not sent:
        raise Invalid("nothing to change: give at least one option, e.g. --title", field="changes")
    changes = parse_command(EditFailure, sent).changes()
    with common.unit() as session:
        failure = failures.update_failure(session, failure_id, changes, viewer=LOCAL)
        fid = failure.id
    render.say(f"updated failure {fid}: {', '.join(changes)}")


# --- interpret: the review --------------------------------------------------------------------


def _norm(key: Any) -> str:
    raw = str(key).strip().lower().rstrip("?:").strip()
    return " ".join(raw.replace("_", " ").replace("-", " ").split())


_REVIEW_KEYS: dict[str, str] = {
    **{_norm(field): field for field in reviews.ANSWER_FIELDS},
    **{_norm(question): field for field, question in reviews.DIAGNOSTIC_QUESTIONS},
    "assumption": "assumption_text",
    "gap": "gap_type",
    "justification": "gap_justification",
    "why this gap type": "gap_justification",
    "factors": "contributing_factors",
    "held": "held_at",
    "reviewer": "reviewers",
    "primary action": "primary_action",
    "secondary action": "secondary_actions",
    "secondary actions": "secondary_actions",
}
_ACTION_KEYS: dict[str, str] = {
    "title": "title",
    "owner": "owner",
    "due": "due_date",
    "due date": "due_date",
    "review": "review_date",
    "review date": "review_date",
}
_LIST_FIELDS = frozenset({"contributing_factors", "assumptions", "reviewers"})
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def _review_key(key: Any) -> str:
    canonical = _REVIEW_KEYS.get(_norm(key))
    if canonical is None:
        raise Invalid(
            "is not a review section (see `lessonloop review --template` or docs/cli.md)", field=str(key)
        )
    return canonical


def _action_spec(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Invalid("must have title, owner, due (and optionally review)", field=where)
    spec: dict[str, Any] = {}
    for key, item in value.items():
        canonical = _ACTION_KEYS.get(_norm(key))
        if canonical is None:
            raise Invalid(f"{key!r} is not an action field (title, owner, due, review)", field=where)
        spec[canonical] = item
    return spec


def _names(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [name for item in items for name in re.split(r"[,\s]+", str(item or "")) if name]


def _text_value(value: Any) -> Any:
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return value


def _review_spec(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """Answers, primary action and secondary actions from a parsed review file."""
    answers: dict[str, Any] = {}
    primary: dict[str, Any] | None = None
    secondary: list[dict[str, Any]] = []
    for raw_key, value in data.items():
        key = _review_key(raw_key)
        if key == "primary_action":
            primary = _action_spec(value, "primary_action")
        elif key == "secondary_actions":
            for item in value if isinstance(value, list) else [value]:
                spec = _action_spec(item, "secondary_actions")
                if any(str(v or "").strip() for v in spec.values()):
                    secondary.append(spec)
        elif key == "reviewers":
            answers[key] = _names(value)
        elif key in _LIST_FIELDS:
            answers[key] = value if isinstance(value, list) else str(value or "")
        else:
            answers[key] = _text_value(value)
    if primary is None:
        raise Invalid("is missing: add a 'Primary action' with title, owner and due", field="primary_action")
    return answers, primary, secondary


def _as_typed(value: Any) -> Any:
    """A review file's scalar as the command reads it: YAML turns ``42`` into a number and ``yes``
    into a boolean, but every answer and title is text (dates stay dates)."""
    if value is None or isinstance(value, str | dt.date | list | dict):
        return value
    return str(value)


def _extra_options(values: Sequence[str]) -> dict[str, Any]:
    """``--extra KEY=ANSWER`` options: a key given once is its answer, repeated a list."""
    out: dict[str, Any] = {}
    for value in values:
        key, sep, answer = value.partition("=")
        if not sep or not key.strip():
            raise Invalid(f"expected KEY=ANSWER, got {value!r}", field="extra")
        key = key.strip()
        if key in out:
            out[key] = [*(out[key] if isinstance(out[key], list) else [out[key]]), answer]
        else:
            out[key] = answer
    return out


def _review_command(
    answers: dict[str, Any], primary: dict[str, Any], secondary: list[dict[str, Any]]
) -> ConductReview:
    """The review as the one command the API takes, from a file's or the interview's answers.

    A file writes a list as lines or bullets and a gap type in any case; both are read here the
    way the review services always read them, then the command checks every limit."""
    typed: dict[str, Any] = {}
    for key, value in answers.items():
        if key in _LIST_FIELDS:
            typed[key] = lines_of(value)
        elif key == "gap_type" and isinstance(value, str):
            typed[key] = value.strip().lower()
        else:
            typed[key] = _as_typed(value)
    return parse_command(
        ConductReview,
        {
            "answers": typed,
            "primary_action": {k: _as_typed(v) for k, v in primary.items()},
            "secondary_actions": [{k: _as_typed(v) for k, v in a.items()} for a in secondary],
        },
    )


def _yaml(source: str, where: str) -> Any:
    try:
        return yaml.safe_load(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        at = f" (line {mark.line + 1})" if mark is not None else ""
        raise Invalid(f"is not valid YAML{at}: {problem}", field=where) from None


def _key_values(lines: list[str], heading: str) -> dict[str, str]:
    spec: dict[str, str] = {}
    for line in lines:
        if ":" not in line:
            raise Invalid(f"expected 'key: value' lines, got {line!r}", field=heading)
        key, value = line.split(":", 1)
        spec[key.strip()] = value.strip()
    return spec


# CommonMark, as markdown-it-py parses it: a "## Heading" inside a code block or a list is not a
# section, and a comment inside a code block is kept.
_MARKDOWN = MarkdownIt("commonmark")
_CODE = frozenset({"fence", "code_block"})


@dataclass
class _Section:
    heading: str
    tokens: list[Token]

    def text(self, lines: list[str]) -> str:
        """The section's Markdown source as written, without its comments (a text answer)."""
        out = ""
        last_end = 0
        for tok in self.tokens:
            if tok.level != 0 or tok.nesting == -1 or tok.map is None:
                continue  # only each top-level block's first token: it spans the whole block
            start, end = tok.map
            source = "\n".join(lines[start:end]).rstrip()
            if tok.type not in _CODE:
                source = _COMMENT.sub("", source)
            if tok.type == "html_block" and not source.strip():
                continue  # a comment on its own
            if out:
                out += "\n\n" if start > last_end or lines[start - 1].strip() == "" else "\n"
            out += source
            last_end = end
        return out.strip()

    def items(self) -> list[str]:
        """One item per non-empty line of its list items, paragraphs and code (a list answer)."""
        found: list[str] = []
        for tok in self.tokens:
            if tok.type == "inline":
                content = _COMMENT.sub("", tok.content)
            elif tok.type in _CODE:
                content = tok.content
            else:
                continue
            found += [line.strip() for line in content.splitlines() if line.strip()]
        return found


def _front_matter(source: str) -> tuple[dict[str, Any], str]:
    """The YAML front matter between ``---`` lines at the very top (optional), and the rest."""
    lines = source.split("\n")
    if not lines or lines[0].strip() != "---":
        return {}, source
    end = next((i for i, line in enumerate(lines[1:], 1) if line.strip() in {"---", "..."}), None)
    if end is None:
        raise Invalid("front matter opened with '---' is never closed", field="file")
    front = _yaml("\n".join(lines[1:end]), "front matter") or {}
    if not isinstance(front, dict):
        raise Invalid("must be 'key: value' lines", field="front matter")
    return front, "\n".join(lines[end + 1 :])


def _sections(markdown: str) -> list[_Section]:
    """The top-level ``##``..``######`` sections; a ``#`` heading (the title) and what precedes
    the first section are ignored."""
    sections: list[_Section] = []
    current: _Section | None = None
    tokens = _MARKDOWN.parse(markdown)
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.type == "heading_open" and tok.level == 0:
            heading = _COMMENT.sub("", tokens[i + 1].content).strip()
            current = None if tok.tag == "h1" else _Section(heading, [])
            if current is not None:
                sections.append(current)
            i += 3  # heading_open, inline, heading_close
            continue
        if current is not None:
            current.tokens.append(tok)
        i += 1
    return sections


def parse_markdown_review(source: str) -> dict[str, Any]:
    """Front matter (optional) and ``## Heading`` sections → the keys :func:`_review_spec` reads."""
    # markdown-it's own line numbers count "\n" lines of the normalised text
    source = source.replace("\r\n", "\n").replace("\r", "\n").replace("\0", "\ufffd")
    front, markdown = _front_matter(source)
    data: dict[str, Any] = {_review_key(k): v for k, v in front.items()}
    lines = markdown.split("\n")
    seen: set[str] = set()
    for section in _sections(markdown):
        heading = section.heading
        key = _review_key(heading)
        if key in seen and key != "secondary_actions":
            raise Invalid("appears twice", field=heading)
        seen.add(key)
        if key == "primary_action":
            data[key] = _key_values(section.items(), heading)
        elif key == "secondary_actions":
            existing = data.get(key) or []
            data[key] = [
                *(existing if isinstance(existing, list) else [existing]),
                _key_values(section.items(), heading),
            ]
        elif key in _LIST_FIELDS:
            data[key] = section.items()
        else:
            data[key] = section.text(lines)
    return data


def read_review_file(path: Path) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    source = path.read_text(encoding="utf-8")
    if path.suffix.lower() in {".md", ".markdown", ".txt"}:
        data = parse_markdown_review(source)
    else:
        data = _yaml(source, "file") or {}
        if not isinstance(data, dict):
            raise Invalid("a YAML review file must be a mapping of 'key: value'", field="file")
    return _review_spec(data)


def review_template(failure_id: int, title: str) -> str:
    questions = "\n\n".join(f"## {question}\n" for _, question in reviews.DIAGNOSTIC_QUESTIONS)
    return f"""# Review of failure {failure_id}: {title}
<!-- Blameless: describe decisions, evidence and conditions, not people.
     Submit with: lessonloop review {failure_id} --file THIS_FILE.md -->

{questions}
## Root cause


## Gap type
<!-- one of: {_values(GapType)} -->


## Justification
<!-- one line: why this gap type -->


## Contributing factors
-

## Assumptions
<!-- general beliefs to track across failures, one per line -->
-

## Primary action
title:
owner:
due:
<!-- review: YYYY-MM-DD (default: due + 14 days) -->

## Secondary action
<!-- optional; repeat this section for more -->
"""


Check = Callable[[str], object]


def _ask(prompt: str, *, default: str | None = None, check: Check | None = None) -> str:
    """Prompt until the answer passes ``check`` (a coerce/service call that names the field)."""
    suffix = " " if prompt.endswith("?") else ": "
    while True:
        value = str(typer.prompt(prompt, default=default, show_default=bool(default), prompt_suffix=suffix))
        value = value.strip()
        if check is None:
            return value
        try:
            check(value)
            return value
        except LessonloopError as exc:
            common.err_console.print(
                Text.assemble(("error: ", "red"), str(exc)), highlight=False, soft_wrap=True
            )


def _ask_list(prompt: str) -> list[str]:
    items: list[str] = []
    while True:
        value = _ask(f"{prompt} {len(items) + 1} (empty to finish)", default="")
        if not value:
            return items
        items.append(value)


def _ask_action(session: Session, label: str) -> dict[str, Any]:
    offset = common.settings().default_review_offset_days
    title = _ask(f"{label}: title", check=lambda v: as_text(v, "title", required=True, max_len=500))
    owner = _ask(
        f"{label}: owner (id, handle or e-mail)",
        check=lambda v: people.get_person(session, v, field="owner", viewer=LOCAL),
    )
    due = as_date(_ask(f"{label}: due date (YYYY-MM-DD, +7d)", check=lambda v: as_date(v, "due_date")), "due")

    def check_review(value: str) -> None:
        if as_date(value, "review_date") < due:
            raise Invalid("must be on or after the due date", field="review_date")

    review = _ask(
        f"{label}: review date",
        default=(due + dt.timedelta(days=offset)).isoformat(),
        check=check_review,
    )
    return {"title": title, "owner": owner, "due_date": due.isoformat(), "review_date": review}


def _ask_extra(session: Session, failure: Any, *, every: bool) -> dict[str, Any]:
    """The extra questions of the review template of the failure's kind (Enter skips one): the
    required ones, or with ``every`` all of them."""
    extra: dict[str, Any] = {}
    questions = review_templates.template_for_failure(session, failure, viewer=LOCAL).questions
    questions = [q for q in questions if every or q.get("required")]
    if questions:
        render.say("More questions for this kind of failure (empty to skip):")
    for q in questions:
        label = str(q["label"]) + (" (required)" if q.get("required") else "")
        if q.get("type") == "list":
            items: list[str] = []
            while len(items) < int(q.get("max_items") or 5):
                value = _ask(f"{label} {len(items) + 1}", default="")
                if not value:
                    break
                items.append(value)
            extra[q["key"]] = items
        elif q.get("type") == "timeline":
            lines: list[str] = []
            while value := _ask(f"{label}: line {len(lines) + 1} as 'TIME | what happened'", default=""):
                lines.append(value)
            extra[q["key"]] = lines
        else:
            extra[q["key"]] = _ask(label, default="")
    return {k: v for k, v in extra.items() if v}


def _interview(
    session: Session, failure: Any = None, *, more: bool = False
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    answers: dict[str, Any] = {}
    total = len(reviews.DIAGNOSTIC_QUESTIONS)
    for number, (key, question) in enumerate(reviews.DIAGNOSTIC_QUESTIONS, 1):
        answers[key] = _ask(f"{number}/{total} {question}")
    if failure is not None:
        extra = _ask_extra(session, failure, every=more)
        if extra:
            answers["extra_answers"] = extra
    answers["root_cause"] = _ask("Root cause")
    answers["gap_type"] = _ask(
        f"Gap type ({_values(GapType)})", check=lambda v: as_enum(v, GapType, "gap_type")
    )
    answers["gap_justification"] = _ask(
        "Why this gap type (one line)",
        check=lambda v: as_text(v, "gap_justification", required=True, max_len=reviews.JUSTIFICATION_MAX),
    )
    answers["contributing_factors"] = _ask_list("Contributing factor")
    answers["assumptions"] = _ask_list("Assumption to track")
    render.say("The ONE primary corrective action:")
    primary = _ask_action(session, "Primary action")
    secondary: list[dict[str, Any]] = []
    while typer.confirm("Add a secondary action?", default=False):
        secondary.append(_ask_action(session, f"Secondary action {len(secondary) + 1}"))
    return answers, primary, secondary


@app.command("review")
@common.handle_errors
def review(
    failure_id: str = typer.Argument(..., help="Failure id."),
    file: Path | None = typer.Option(
        None, "--file", "-f", help="Read the review from a Markdown (.md) or YAML (.yaml) file."
    ),
    reviewer: list[str] | None = typer.Option(None, "--reviewer", help="Who took part (repeatable)."),
    held: str | None = typer.Option(None, "--held", help="When the review was held (default: now)."),
    extra: list[str] | None = typer.Option(
        None,
        "--extra",
        help="KEY=ANSWER for an extra question of the kind's review template (repeat a key for a "
        "list; a timeline line is 'TIME | text'). See: lessonloop review-template show KIND.",
    ),
    template: bool = typer.Option(False, "--template", help="Print a Markdown review file to fill in."),
    more_questions: bool = typer.Option(
        False,
        "--more-questions",
        help="Also ask the optional extra questions of the kind's review template (the required "
        "ones are always asked).",
    ),
    backfill: bool = typer.Option(
        False,
        "--backfill",
        help="A review recorded after the fact: its actions' due dates may be in the past.",
    ),
) -> None:
    """Run the blameless review: three questions, root cause, gap type, ONE primary action.

    Without --file it asks the questions one at a time.
    """
    spec = read_review_file(file) if file is not None else None
    offset = common.settings().default_review_offset_days
    with common.unit() as session:
        failure = reviews.check_reviewable(session, failure_id, viewer=LOCAL)
        if template:
            typer.echo(review_template(failure.id, failure.title), nl=False)
            return
        if spec is None:
            render.say(f"Review of failure {failure.id}: {failure.title}", "bold")
            if failure.observation:
                render.say(failure.observation)
            render.hint("Blameless: describe decisions, evidence and conditions, not people.")
            spec = _interview(session, failure, more=more_questions)
        answers, primary, secondary = spec
        if reviewer:
            answers["reviewers"] = _present(reviewer)
        if held:
            answers["held_at"] = held
        if extra:
            answers["extra_answers"] = {**(answers.get("extra_answers") or {}), **_extra_options(extra)}
        if backfill:
            primary = {**primary, "backfill": True}
            secondary = [{**a, "backfill": True} for a in secondary]
        command = _review_command(answers, primary, secondary)
        reviews.conduct_review(
            session,
            failure.id,
            answers=command.answers.changes(),
            primary_action=command.primary_action.spec(),
            secondary_actions=[a.spec() for a in command.secondary_actions],
            review_offset_days=offset,
            viewer=LOCAL,
        )
        status_now = failure.status
        made = [
            ActionOut.model_validate(a)
            for a in actions.list_actions(session, failure_id=failure.id, viewer=LOCAL).items
        ]
    render.say(f"review completed: failure {failure.id} is now {status_now}")
    for action in made:
        render.say(render.action_line(action))
    primary_out = next((a for a in made if a.is_primary), None)
    if primary_out is not None:
        render.hint(f"when it is done: lessonloop action done {primary_out.id} --evidence TEXT")


@app.command("review-edit")
@common.handle_errors
def review_edit(
    failure_id: str = typer.Argument(..., help="Failure id (its review must be completed)."),
    assumption: str | None = typer.Option(None, "--assumption", help="Which assumption guided the decision?"),
    evidence: str | None = typer.Option(None, "--evidence", help="What evidence did we have?"),
    what_changed: str | None = typer.Option(None, "--what-changed", help="What changed?"),
    root_cause: str | None = typer.Option(None, "--root-cause"),
    gap_type: str | None = typer.Option(None, "--gap-type", help=f"One of: {_values(GapType)}."),
    why: str | None = typer.Option(None, "--why", help="Why this gap type, in one line."),
    factor: list[str] | None = typer.Option(
        None, "--factor", help="Replaces the contributing factors (repeatable; '' clears)."
    ),
    held: str | None = typer.Option(
        None, "--held", help="When it was really held (a back-fill; not in the future)."
    ),
    extra: list[str] | None = typer.Option(
        None, "--extra", help="KEY=ANSWER for an extra question of the kind's template, as in `review`."
    ),
) -> None:
    """Correct a completed review; only the options given change.

    The change lands in the failure's history and the coach reads the corrected text again: its
    hints are printed (advice; the correction is saved either way).
    """
    given: dict[str, Any] = {
        "assumption_text": assumption,
        "evidence": evidence,
        "what_changed": what_changed,
        "root_cause": root_cause,
        "gap_type": gap_type,
        "gap_justification": why,
        "contributing_factors": _present(factor) if factor is not None else None,
        "held_at": held,
    }
    sent = {key: value for key, value in given.items() if value is not None}
    if not sent and not extra:
        raise Invalid("nothing to change: give at least one option, e.g. --root-cause", field="changes")
    changes = parse_command(ReviseReview, sent).changes()
    if extra:
        changes["extra_answers"] = _extra_options(extra)
    with common.unit() as session:
        failure = failures.get_failure(session, failure_id, viewer=LOCAL)
        found = reviews.review_for_failure(session, failure.id, viewer=LOCAL)
        if found is None:
            raise Invalid(
                f"failure {failure.id} has no review yet: lessonloop review {failure.id}", field="review"
            )
        reviews.revise_review(session, found.id, changes, viewer=LOCAL)
        fid = failure.id
    render.say(f"corrected the review of failure {fid}: {', '.join(changes)}")
    from lessonloop.signals.coach import coach_text, use_model  # the model loads only when asked

    use_model(common.settings().coach_model)

    for key, value in changes.items():
        if key in {"gap_type", "held_at", "extra_answers"}:
            continue  # not people's prose
        text = "\n".join(value) if isinstance(value, list) else str(value or "")
        for finding in coach_text(text):
            render.hint(f"coach, {key.replace('_', ' ')}: “{finding.text}” — {finding.suggestion}")
    render.hint(f"what changed: lessonloop history {fid}")


# --- act: actions -----------------------------------------------------------------------------

action_app = typer.Typer(
    help="Corrective actions: one owner, a due date, a review date.", no_args_is_help=True
)
app.add_typer(action_app, name="action")


@action_app.command("add")
@common.handle_errors
def action_add(
    failure_id: str = typer.Argument(..., help="Failure id."),
    title: str = typer.Argument(..., help="What will be done."),
    owner: str | None = typer.Option(None, "--owner", "-o", help="The ONE owner (id, handle or e-mail)."),
    due: str | None = typer.Option(None, "--due", help="Due date (YYYY-MM-DD, today, +7d, +2w)."),
    review_date: str | None = typer.Option(
        None, "--review-date", help="When to check it worked (default due + 14 days)."
    ),
    backfill: bool = typer.Option(
        False, "--backfill", help="An action recorded after the fact: its due date may be in the past."
    ),
) -> None:
    """Add a corrective action to a failure (a due date in the past needs --backfill)."""
    command = parse_command(
        AddAction,
        {
            "failure_id": failure_id,
            "title": title,
            "owner": owner,
            "due_date": due,
            "review_date": review_date,
            "backfill": backfill,
        },
    )
    with common.unit() as session:
        action = actions.add_action(
            session,
            **command.model_dump(),
            review_offset_days=common.settings().default_review_offset_days,
            viewer=LOCAL,
        )
        line = render.action_line(ActionOut.model_validate(action))
    render.say(f"added {line}")


@action_app.command("done")
@common.handle_errors
def action_done(
    action_id: str = typer.Argument(..., help="Action id."),
    evidence: str | None = typer.Option(None, "--evidence", "-e", help="What shows it is done (link, note)."),
    done_on: str | None = typer.Option(
        None, "--done-on", help="When it was done, to back-fill (YYYY-MM-DD or ISO time; default now)."
    ),
) -> None:
    """Complete an action, with evidence."""
    command = parse_command(CompleteAction, {"evidence": evidence or "", "done_at": done_on})
    with common.unit() as session:
        action = actions.complete_action(session, action_id, **command.model_dump(), viewer=LOCAL)
        aid, fid, primary = action.id, action.failure_id, action.is_primary
    render.say(f"action {aid} is done")
    if primary:
        render.hint(f"the primary action is closed; next steps: lessonloop show {fid}")


@action_app.command("edit")
@common.handle_errors
def action_edit(
    action_id: str = typer.Argument(..., help="Action id."),
    owner: str | None = typer.Option(
        None, "--owner", "-o", help="Re-assign to this ONE owner (id, handle, e-mail)."
    ),
    due: str | None = typer.Option(None, "--due", help="New due date (YYYY-MM-DD, today, +7d, +2w)."),
    review_date: str | None = typer.Option(None, "--review", help="New date to check it worked."),
    title: str | None = typer.Option(None, "--title", help="New title."),
    backfill: bool = typer.Option(False, "--backfill", help="Allow a due date in the past (a back-fill)."),
) -> None:
    """Change an action: its owner, due date, review date or title (only the options given)."""
    given = {"owner": owner, "due_date": due, "review_date": review_date, "title": title}
    command = parse_command(EditAction, {**given, "backfill": backfill})
    with common.unit() as session:
        action = actions.edit_action(
            session, action_id, command.changes(), backfill=command.backfill, viewer=LOCAL
        )
        line = render.action_line(ActionOut.model_validate(action))
    render.say(f"changed {line}" if command.changes() else f"nothing to change: {line}")


@action_app.command("drop")
@common.handle_errors
def action_drop(
    action_id: str = typer.Argument(..., help="Action id."),
    reason: str | None = typer.Option(None, "--reason", "-r", help="Why it is dropped (required)."),
) -> None:
    """Drop an action, with a written reason."""
    command = parse_command(DropAction, {"reason": reason or ""})
    with common.unit() as session:
        action = actions.drop_action(session, action_id, **command.model_dump(), viewer=LOCAL)
        aid, fid, primary = action.id, action.failure_id, action.is_primary
    render.say(f"action {aid} is dropped")
    if primary:
        render.hint(f"the primary action is closed; next steps: lessonloop show {fid}")


@action_app.command("list")
@common.handle_errors
def action_list(
    owner: str | None = typer.Option(None, "--owner", "-o", help="Owner id, handle or e-mail."),
    team: str | None = typer.Option(None, "--team", "-t", help="Team id or name."),
    status: str | None = typer.Option(None, "--status", help="open, done or dropped."),
    failure: int | None = typer.Option(None, "--failure", help="Only this failure's actions."),
    overdue: bool = typer.Option(False, "--overdue", help="Only open actions past their due date."),
    page: int = typer.Option(1, "--page"),
    page_size: int | None = typer.Option(None, "--page-size"),
    as_json: bool = JSON,
) -> None:
    """List actions, the earliest due first."""
    with common.unit() as session:
        result = actions.list_actions(
            session,
            owner=owner,
            team=team,
            status=status,
            failure_id=failure,
            overdue=overdue,
            page=page,
            page_size=_page_size(page_size),
            viewer=LOCAL,
        )
        items = [ActionOut.model_validate(a) for a in result.items]
    if as_json:
        common.print_json(render.page_json(result, items))
        return
    if items:
        render.out(render.actions_table(items))
    render.page_footer(result, "action")


@app.command("overdue")
@common.handle_errors
def overdue(
    team: str | None = typer.Option(None, "--team", "-t", help="Team id or name."),
    as_json: bool = JSON,
) -> None:
    """Open actions past their due date, grouped by owner."""
    today = dt.date.today()
    with common.unit() as session:
        groups = [
            (PersonOut.model_validate(owner), [ActionOut.model_validate(a) for a in items])
            for owner, items in actions.overdue_by_owner(session, today=today, team=team, viewer=LOCAL)
        ]
    if as_json:
        common.print_json([{"owner": owner, "actions": items} for owner, items in groups])
        return
    if not groups:
        render.say("nothing is overdue")
        return
    render.out(render.overdue_report(groups, today))


# --- act: experiments -------------------------------------------------------------------------

experiment_app = typer.Typer(help="Small bets that check a corrective action worked.", no_args_is_help=True)
app.add_typer(experiment_app, name="experiment")


@experiment_app.command("add")
@common.handle_errors
def experiment_add(
    action_id: str = typer.Argument(..., help="The action this experiment validates."),
    hypothesis: str | None = typer.Option(None, "--hypothesis", help="What we expect, in a sentence."),
    metric: str | None = typer.Option(None, "--metric", help="What is measured."),
    comparator: str | None = typer.Option(None, "--comparator", help="One of >=, <=, =, >, <."),
    threshold: str | None = typer.Option(None, "--threshold", help="The number the metric is compared to."),
    start: str = typer.Option("today", "--start", help="First day (default today)."),
    end: str | None = typer.Option(None, "--end", help="Last day (YYYY-MM-DD, +14d)."),
    as_json: bool = JSON,
) -> None:
    """Add an experiment with explicit success criteria; its verdict is computed."""
    command = parse_command(
        AddExperiment,
        {
            "action_id": action_id,
            "hypothesis": hypothesis or "",
            "metric": metric or "",
            "comparator": (comparator or "").strip(),
            "threshold": threshold,
            "start_date": start,
            "end_date": end,
        },
    )
    with common.unit() as session:
        experiment = experiments.add_experiment(session, **command.fields(), viewer=LOCAL)
        result = ExperimentOut.of(experiment)
    if as_json:
        common.print_json(result)
        return
    render.say(f"added experiment {result.id}: success if {render.criterion(result)}")
    render.hint(f"record a measurement: lessonloop experiment observe {result.id} VALUE")


@experiment_app.command("observe", context_settings={"ignore_unknown_options": True})
@common.handle_errors
def experiment_observe(
    experiment_id: str = typer.Argument(..., help="Experiment id."),
    value: str = typer.Argument(..., help="The measured value (negative numbers work: -3)."),
    at: str | None = typer.Option(None, "--at", help="When it was measured (default now)."),
    note: str = typer.Option("", "--note", help="A short note."),
    as_json: bool = JSON,
) -> None:
    """Record a measurement and print the computed verdict."""
    command = parse_command(RecordObservation, {"value": value, "observed_at": at, "note": note})
    with common.unit() as session:
        observation = experiments.record_observation(
            session, experiment_id, **command.model_dump(), viewer=LOCAL
        )
        result = ExperimentOut.of(experiments.get_experiment(session, experiment_id, viewer=LOCAL))
        observed = observation.value
    if as_json:
        common.print_json(result)
        return
    common.console.print(
        render.text(f"experiment {result.id}: observed {render.number(observed)} → verdict "),
        render.status(result.verdict),
        render.text(f" (success if {render.criterion(result)}; latest {render.latest(result)})"),
        sep="",
    )


@experiment_app.command("edit")
@common.handle_errors
def experiment_edit(
    experiment_id: str = typer.Argument(..., help="Experiment id."),
    hypothesis: str | None = typer.Option(None, "--hypothesis", help="What we expect, in a sentence."),
    metric: str | None = typer.Option(None, "--metric", help="What is measured."),
    comparator: str | None = typer.Option(None, "--comparator", help="One of >=, <=, =, >, <."),
    threshold: str | None = typer.Option(None, "--threshold", help="The number the metric is compared to."),
    start: str | None = typer.Option(None, "--start", help="First day."),
    end: str | None = typer.Option(None, "--end", help="Last day."),
    as_json: bool = JSON,
) -> None:
    """Correct an experiment (only what you pass changes); prints the recomputed verdict."""
    given = {
        "hypothesis": hypothesis,
        "metric": metric,
        "comparator": comparator.strip() if comparator is not None else None,
        "threshold": threshold,
        "start_date": start,
        "end_date": end,
    }
    command = parse_command(EditExperiment, {k: v for k, v in given.items() if v is not None})
    with common.unit() as session:
        result = ExperimentOut.of(
            experiments.edit_experiment(session, experiment_id, command.changes(), viewer=LOCAL)
        )
    if as_json:
        common.print_json(result)
        return
    render.say(f"edited experiment {result.id}: success if {render.criterion(result)} → {result.verdict}")


@experiment_app.command("correct", context_settings={"ignore_unknown_options": True})
@common.handle_errors
def experiment_correct(
    experiment_id: str = typer.Argument(..., help="Experiment id."),
    observation_id: str = typer.Argument(..., help="Observation id (see `experiment show`)."),
    value: str | None = typer.Option(None, "--value", help="The corrected value."),
    at: str | None = typer.Option(None, "--at", help="When it was really measured."),
    note: str | None = typer.Option(None, "--note", help="A corrected note."),
    as_json: bool = JSON,
) -> None:
    """Correct one observation; prints the recomputed verdict."""
    given = {"value": value, "observed_at": at, "note": note}
    command = parse_command(EditObservation, {k: v for k, v in given.items() if v is not None})
    with common.unit() as session:
        experiments.edit_observation(session, experiment_id, observation_id, command.changes(), viewer=LOCAL)
        result = ExperimentOut.of(experiments.get_experiment(session, experiment_id, viewer=LOCAL))
    if as_json:
        common.print_json(result)
        return
    render.say(f"corrected observation {observation_id} of experiment {result.id} → verdict {result.verdict}")


@experiment_app.command("delete-observation")
@common.handle_errors
def experiment_delete_observation(
    experiment_id: str = typer.Argument(..., help="Experiment id."),
    observation_id: str = typer.Argument(..., help="Observation id (see `experiment show`)."),
) -> None:
    """Delete a mistaken observation (its history stays); prints the recomputed verdict."""
    with common.unit() as session:
        result = ExperimentOut.of(
            experiments.delete_observation(session, experiment_id, observation_id, viewer=LOCAL)
        )
    render.say(f"deleted observation {observation_id} of experiment {result.id} → verdict {result.verdict}")


@experiment_app.command("delete")
@common.handle_errors
def experiment_delete(experiment_id: str = typer.Argument(..., help="Experiment id.")) -> None:
    """Delete an experiment set up by mistake, with its observations (their history stays)."""
    with common.unit() as session:
        failure_id = experiments.delete_experiment(session, experiment_id, viewer=LOCAL)
    render.say(f"deleted experiment {experiment_id} of failure {failure_id}")


@experiment_app.command("show")
@common.handle_errors
def experiment_show(
    experiment_id: str = typer.Argument(..., help="Experiment id."),
    as_json: bool = JSON,
) -> None:
    """Show an experiment, its observations and verdict."""
    with common.unit() as session:
        result = ExperimentOut.of(experiments.get_experiment(session, experiment_id, viewer=LOCAL))
    if as_json:
        common.print_json(result)
        return
    render.out(render.experiment_panel(result))


@experiment_app.command("list")
@common.handle_errors
def experiment_list(
    action: int | None = typer.Option(None, "--action", help="Only this action's experiments."),
    as_json: bool = JSON,
) -> None:
    """List experiments with their verdicts."""
    with common.unit() as session:
        items = [
            ExperimentOut.of(e) for e in experiments.list_experiments(session, action_id=action, viewer=LOCAL)
        ]
    if as_json:
        common.print_json(items)
        return
    if items:
        render.out(render.experiments_table(items))
    render.hint(render.plural(len(items), "experiment") if items else "no experiments")


# --- re-evaluate: lessons ---------------------------------------------------------------------

lesson_app = typer.Typer(help="'What we learned' notes, shared with teams.", no_args_is_help=True)
app.add_typer(lesson_app, name="lesson")


@lesson_app.command("add")
@common.handle_errors
def lesson_add(
    title: str = typer.Argument(..., help="The lesson in one line."),
    learned: str | None = typer.Option(None, "--learned", help="What we learned (required)."),
    changed: str = typer.Option("", "--changed", help="What we changed because of it."),
    failure: list[str] | None = typer.Option(
        None, "--failure", help="A failure that taught it (repeatable)."
    ),
    audience: list[str] | None = typer.Option(
        None, "--audience", help="A team that should hear it (repeatable)."
    ),
    author: str | None = typer.Option(None, "--author", help="Who wrote it."),
    publish: bool = typer.Option(False, "--publish", help="Publish now (default: save a draft)."),
) -> None:
    """Write a lesson (a draft unless --publish)."""
    command = parse_command(
        WriteLesson,
        {
            "title": title,
            "learned": learned or "",
            "changed": changed,
            "author": author,
            "failures": _present(failure),
            "audience": _present(audience),
            "publish": publish,
        },
    )
    with common.unit() as session:
        lesson = lessons.create_lesson(session, **command.model_dump(), viewer=LOCAL)
        result = LessonOut.of(lesson, viewer=LOCAL)
    if result.published_at is not None:
        to = f" to {', '.join(result.audience)}" if result.audience else ""
        render.say(f"published lesson {result.id}{to}: {result.title}")
    else:
        render.say(f"drafted lesson {result.id}: {result.title}")
        render.hint(f"publish it: lessonloop lesson publish {result.id}")


@lesson_app.command("publish")
@common.handle_errors
def lesson_publish(lesson_id: str = typer.Argument(..., help="Lesson id.")) -> None:
    """Publish a draft lesson to its audience."""
    with common.unit() as session:
        result = LessonOut.of(lessons.publish_lesson(session, lesson_id, viewer=LOCAL), viewer=LOCAL)
    to = f" to {', '.join(result.audience)}" if result.audience else ""
    render.say(f"published lesson {result.id}{to}")


@lesson_app.command("edit")
@common.handle_errors
def lesson_edit(
    lesson_id: str = typer.Argument(..., help="Lesson id."),
    title: str | None = typer.Option(None, "--title", help="The lesson in one line."),
    learned: str | None = typer.Option(None, "--learned", help="What we learned."),
    changed: str | None = typer.Option(None, "--changed", help="What we changed because of it."),
    failure: list[str] | None = typer.Option(
        None, "--failure", help="The failures that taught it (repeatable; replaces the list)."
    ),
    audience: list[str] | None = typer.Option(
        None, "--audience", help="The teams that should hear it (repeatable; replaces the list)."
    ),
    no_audience: bool = typer.Option(False, "--no-audience", help="Address it to no team."),
) -> None:
    """Correct a lesson (only what you pass changes)."""
    given: dict[str, Any] = {"title": title, "learned": learned, "changed": changed}
    given = {k: v for k, v in given.items() if v is not None}
    if failure:
        given["failures"] = _present(failure)
    if audience or no_audience:
        given["audience"] = [] if no_audience else _present(audience)
    command = parse_command(EditLesson, given)
    with common.unit() as session:
        result = LessonOut.of(
            lessons.edit_lesson(session, lesson_id, command.changes(), viewer=LOCAL), viewer=LOCAL
        )
    render.say(f"edited lesson {result.id}: {result.title}")


@lesson_app.command("unpublish")
@common.handle_errors
def lesson_unpublish(lesson_id: str = typer.Argument(..., help="Lesson id.")) -> None:
    """Take a published lesson back to a draft."""
    with common.unit() as session:
        result = LessonOut.of(lessons.unpublish_lesson(session, lesson_id, viewer=LOCAL), viewer=LOCAL)
    render.say(f"lesson {result.id} is a draft again")


@lesson_app.command("retract")
@common.handle_errors
def lesson_retract(
    lesson_id: str = typer.Argument(..., help="Lesson id."),
    reason: str = typer.Option(..., "--reason", help="Why it is retracted (shown with it)."),
) -> None:
    """Retract a published lesson: it stays, with the reason, but is no longer listed or sent."""
    command = parse_command(RetractLesson, {"reason": reason})
    with common.unit() as session:
        result = LessonOut.of(
            lessons.retract_lesson(session, lesson_id, reason=command.reason, viewer=LOCAL), viewer=LOCAL
        )
    render.say(f"retracted lesson {result.id}: {result.title}")


@lesson_app.command("list")
@common.handle_errors
def lesson_list(
    team: str | None = typer.Option(None, "--team", "-t", help="Lessons addressed to this team."),
    drafts: bool = typer.Option(False, "--drafts", help="Only drafts (default: only published)."),
    show_all: bool = typer.Option(False, "--all", help="Drafts and published."),
    page: int = typer.Option(1, "--page"),
    page_size: int | None = typer.Option(None, "--page-size"),
    as_json: bool = JSON,
) -> None:
    """List published lessons (or drafts), the newest first."""
    published = None if show_all else not drafts
    with common.unit() as session:
        result = lessons.list_lessons(
            session, team=team, published=published, page=page, page_size=_page_size(page_size), viewer=LOCAL
        )
        items = [LessonOut.of(lesson, viewer=LOCAL) for lesson in result.items]
    if as_json:
        common.print_json(render.page_json(result, items))
        return
    if items:
        render.out(render.lessons_table(items))
    render.page_footer(result, "lesson" if published is None else "draft" if drafts else "published lesson")


@lesson_app.command("show")
@common.handle_errors
def lesson_show(
    lesson_id: str = typer.Argument(..., help="Lesson id."),
    as_json: bool = JSON,
) -> None:
    """Show a lesson."""
    with common.unit() as session:
        lesson = lessons.get_lesson(session, lesson_id, viewer=LOCAL)
        result = LessonOut.of(lesson, viewer=LOCAL)
        author = lesson.author.handle if lesson.author else ""
    if as_json:
        common.print_json(result)
        return
    render.out(render.lesson_panel(result, author=author))


# --- re-evaluate: assumptions and search ------------------------------------------------------


@app.command("assumptions")
@common.handle_errors
def assumptions(
    status: str | None = typer.Option(None, "--status", help=f"One of: {_values(AssumptionStatus)}."),
    as_json: bool = JSON,
) -> None:
    """Assumptions named in reviews, the most often behind a failure first."""
    with common.unit() as session:
        items = [
            AssumptionOut.model_validate(a).model_copy(update={"failure_count": count})
            for a, count in reviews.list_assumptions(session, status=status, viewer=LOCAL)
        ]
    if as_json:
        common.print_json(items)
        return
    if items:
        render.out(render.assumptions_table(items))
    render.hint(render.plural(len(items), "assumption") if items else "no assumptions recorded yet")


_OPEN_WITH = {
    "failure": "lessonloop show {id}",
    "lesson": "lessonloop lesson show {id}",
    "assumption": "lessonloop assumptions",
}


@app.command("search")
@common.handle_errors
def search(
    query: str = typer.Argument(..., help="Words to look for (all must match)."),
    kind: list[str] | None = typer.Option(
        None, "--kind", help=f"Only these kinds (repeatable): {', '.join(KIND_CODES)}."
    ),
    limit: int = typer.Option(20, "--limit", min=1, max=200, help="At most this many hits."),
    as_json: bool = JSON,
) -> None:
    """Full-text search over failures, reviews, actions, assumptions and lessons."""
    kinds = [k.strip().lower() for k in _present(kind)]
    for k in kinds:
        if k not in KIND_CODES:
            raise Invalid(f"must be one of: {', '.join(KIND_CODES)} (got {k!r})", field="kind")
    with common.unit() as session:
        hits = search_index(session, query, kinds=kinds or None, limit=limit, viewer=LOCAL)
        open_with: list[str] = []
        for hit in hits:
            if hit.kind == "review":
                open_with.append(
                    f"lessonloop show {reviews.get_review(session, hit.record_id, viewer=LOCAL).failure_id}"
                )
            elif hit.kind == "action":
                open_with.append(
                    f"lessonloop show {actions.get_action(session, hit.record_id, viewer=LOCAL).failure_id}"
                )
            else:
                open_with.append(_OPEN_WITH.get(hit.kind, "").format(id=hit.record_id))
    if as_json:
        common.print_json(
            [
                {"kind": h.kind, "id": h.record_id, "title": h.title, "snippet": h.snippet, "score": h.score}
                for h in hits
            ]
        )
        return
    if not hits:
        render.say(f"nothing matches {query!r}")
        return
    grid = render.table("kind", "id", "title", "match", "open with")
    for hit, command in zip(hits, open_with, strict=True):
        render.row(grid, hit.kind, hit.record_id, hit.title, render.snippet(hit.snippet), command)
    render.out(grid)
