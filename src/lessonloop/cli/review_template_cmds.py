"""`lessonloop review-template list|show|set|reset`: the extra review questions per failure kind.

    lessonloop review-template show missed-deadline
    lessonloop review-template set missed-deadline --file questions.json
    lessonloop review-template reset missed-deadline

The local CLI acts as a system job (whoever can open the database file may change anything); over
the API only org admins may change a template.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
import yaml

from lessonloop.cli import common, render
from lessonloop.cli.app import app
from lessonloop.cli.common import LOCAL
from lessonloop.errors import Invalid
from lessonloop.fields import parse_command
from lessonloop.reviews import templates
from lessonloop.reviews.schemas import ReviewTemplateOut, SetReviewTemplate, TemplateQuestion

template_app = typer.Typer(
    help="Review templates: the extra questions a review asks per failure kind.", no_args_is_help=True
)
app.add_typer(template_app, name="review-template")

JSON = typer.Option(False, "--json", help="Print JSON.")


def _out(view: templates.TemplateView) -> ReviewTemplateOut:
    return ReviewTemplateOut(
        kind=view.kind,
        kind_label=view.kind_label,
        customized=view.customized,
        questions=[TemplateQuestion.model_validate(q) for q in view.questions],
    )


def _show(t: ReviewTemplateOut) -> None:
    origin = "changed by an org admin" if t.customized else "default"
    render.say(f"{t.kind} ({t.kind_label}): {origin}", "bold")
    if not t.questions:
        render.hint("no extra questions")
        return
    grid = render.table("#", "key", "question", "type", "required")
    for n, q in enumerate(t.questions, 1):
        kind = f"list of up to {q.max_items}" if q.type == "list" else q.type.value
        render.row(grid, n, q.key, q.label, kind, "yes" if q.required else "")
    render.out(grid)


@template_app.command("list")
@common.handle_errors
def template_list(as_json: bool = JSON) -> None:
    """Every failure kind's review template."""
    with common.unit() as session:
        out = [_out(v) for v in templates.list_templates(session, viewer=LOCAL)]
    if as_json:
        common.print_json([t.model_dump(mode="json") for t in out])
        return
    for t in out:
        _show(t)


@template_app.command("show")
@common.handle_errors
def template_show(kind: str = typer.Argument(..., help="A failure kind."), as_json: bool = JSON) -> None:
    """One failure kind's review template (its extra questions, in order)."""
    with common.unit() as session:
        out = _out(templates.get_template(session, kind, viewer=LOCAL))
    if as_json:
        common.print_json(out.model_dump(mode="json"))
        return
    _show(out)


def _read_questions(path: Path) -> list[dict[str, Any]]:
    """A JSON or YAML file: a list of questions, or ``{"questions": [...]}``."""
    source = path.read_text(encoding="utf-8")
    try:
        data = json.loads(source) if path.suffix.lower() == ".json" else yaml.safe_load(source)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise Invalid(f"cannot be read: {str(exc).splitlines()[0]}", field="file") from None
    if isinstance(data, dict):
        data = data.get("questions")
    if not isinstance(data, list):
        raise Invalid("must be a list of questions (or {'questions': [...]})", field="file")
    command = parse_command(SetReviewTemplate, {"questions": data})
    return [q.model_dump(mode="json") for q in command.questions]


@template_app.command("set")
@common.handle_errors
def template_set(
    kind: str = typer.Argument(..., help="A failure kind."),
    file: Path = typer.Option(..., "--file", "-f", help="JSON or YAML: the questions, in order."),
) -> None:
    """Replace a kind's extra questions (label, key, help, type text|list|timeline, required, max_items)."""
    questions = _read_questions(file)
    with common.unit() as session:
        out = _out(templates.set_template(session, kind, questions, viewer=LOCAL))
    render.say(f"saved the review template for {out.kind}: {render.plural(len(out.questions), 'question')}")


@template_app.command("reset")
@common.handle_errors
def template_reset(kind: str = typer.Argument(..., help="A failure kind.")) -> None:
    """Back to the built-in default for a kind."""
    with common.unit() as session:
        out = _out(templates.reset_template(session, kind, viewer=LOCAL))
    render.say(f"the review template for {out.kind} is the default again")
