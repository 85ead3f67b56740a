"""Review templates per failure kind: the list anyone may read, and an org admin's editor.

The editor is one plain form: every question is a row (label, key, help, type, required, list
length) plus a blank row to add one; the row's buttons move it up or down or remove it, "Save"
keeps the edits. Every button saves the whole form, so nothing typed is lost.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from lessonloop.access.scope import require_directory_admin
from lessonloop.reviews.questions import LIST_ITEMS_MAX, QUESTIONS_MAX, TYPE_HELP
from lessonloop.reviews.templates import (
    TemplateView,
    get_template,
    list_templates,
    reset_template,
    set_template,
)
from lessonloop.web.context import Ctx, Form, SignedIn, WebRoute
from lessonloop.web.forms import Form as PageForm
from lessonloop.web.render import set_flash

router = APIRouter(route_class=WebRoute)

ROW_FIELDS = ("label", "key", "help", "type", "required", "max_items")
WHAT = "change review templates"


def _row_names(i: int) -> list[str]:
    return [f"q{i}_{name}" for name in ROW_FIELDS]


def _form_of(view: TemplateView) -> PageForm:
    rows = len(view.questions) + 1  # and a blank one to add a question
    values: dict[str, Any] = {"rows": str(rows)}
    for i, q in enumerate(view.questions):
        values.update(
            {
                f"q{i}_label": q["label"],
                f"q{i}_key": q["key"],
                f"q{i}_help": q.get("help", ""),
                f"q{i}_type": q.get("type", "text"),
                f"q{i}_required": "yes" if q.get("required") else "",
                f"q{i}_max_items": str(q.get("max_items", 5)),
            }
        )
    values[f"q{rows - 1}_type"] = "text"
    values[f"q{rows - 1}_max_items"] = "5"
    names = ["rows"] + [n for i in range(rows) for n in _row_names(i)]
    return PageForm(names, values)


@router.get("/admin/review-templates")
def templates_page(ctx: SignedIn) -> Response:
    """Every failure kind's extra review questions; org admins get an edit link per kind."""
    return ctx.page(
        "admin/review_templates.html",
        nav="review-templates",
        templates=list_templates(ctx.session, viewer=ctx.viewer),
        type_help=TYPE_HELP,
    )


def _edit_page(ctx: Ctx, kind: str, form: PageForm | None = None, *, status_code: int = 200) -> Response:
    require_directory_admin(ctx.viewer, WHAT)
    view = get_template(ctx.session, kind, viewer=ctx.viewer)
    form = form or _form_of(view)
    rows = int(form.text("rows") or 1)
    return ctx.page(
        "admin/review_template_edit.html",
        nav="review-templates",
        status_code=status_code,
        kind_template=view,
        form=form,
        rows=range(rows),
        type_options=[(value, f"{value}: {help}") for value, help in TYPE_HELP.items()],
        list_items_max=LIST_ITEMS_MAX,
    )


@router.get("/admin/review-templates/{kind}")
def template_edit(ctx: SignedIn, kind: str) -> Response:
    return _edit_page(ctx, kind)


def _posted_rows(data: Any) -> tuple[PageForm, int]:
    try:
        rows = max(1, min(int(str(data.get("rows") or "1")), QUESTIONS_MAX + 1))
    except ValueError:
        rows = 1
    names = ["rows", "go"] + [n for i in range(rows) for n in _row_names(i)]
    return PageForm.posted(data, names), rows


def _questions(form: PageForm, rows: int) -> tuple[list[dict[str, Any]], list[int]]:
    """The rows with a label or key, as questions, and the row each came from."""
    questions, origin = [], []
    for i in range(rows):
        label, key = form.text(f"q{i}_label"), form.text(f"q{i}_key")
        if not label and not key:
            continue
        max_items = form.text(f"q{i}_max_items") or "5"
        questions.append(
            {
                "label": label,
                "key": key,
                "help": form.text(f"q{i}_help"),
                "type": form.text(f"q{i}_type") or "text",
                "required": form.text(f"q{i}_required") == "yes",
                "max_items": int(max_items) if max_items.isdigit() else max_items,
            }
        )
        origin.append(i)
    return questions, origin


def _moved(questions: list[dict[str, Any]], origin: list[int], go: str) -> None:
    """Apply a row's button: ``up-3``, ``down-3``, ``remove-3`` (3 is the row)."""
    verb, _, row = go.partition("-")
    if not row.isdigit() or int(row) not in origin:
        return
    at = origin.index(int(row))
    if verb == "remove":
        del questions[at], origin[at]
    elif verb in {"up", "down"}:
        other = at - 1 if verb == "up" else at + 1
        if 0 <= other < len(questions):
            questions[at], questions[other] = questions[other], questions[at]
            origin[at], origin[other] = origin[other], origin[at]


@router.post("/admin/review-templates/{kind}")
def template_save(ctx: SignedIn, kind: str, data: Form) -> Response:
    require_directory_admin(ctx.viewer, WHAT)
    form, rows = _posted_rows(data)
    questions, origin = _questions(form, rows)
    _moved(questions, origin, form.text("go"))
    # A refusal names "questions.<n>.<field>": show it beside that row's field.
    form.aliases.update(
        {f"questions.{n}.{name}": f"q{row}_{name}" for n, row in enumerate(origin) for name in ROW_FIELDS}
    )
    form.aliases.update({f"questions.{n}": f"q{row}_label" for n, row in enumerate(origin)})
    with form.attempt(ctx.session):
        view = set_template(ctx.session, kind, questions, viewer=ctx.viewer)
    if not form.ok:
        return _edit_page(ctx, kind, form, status_code=422)
    response = RedirectResponse(f"/admin/review-templates/{view.kind}", status_code=303)
    set_flash(response, ctx.request, f"Saved the review template for {view.kind_label}.")
    return response


@router.post("/admin/review-templates/{kind}/reset")
def template_reset(ctx: SignedIn, kind: str) -> Response:
    view = reset_template(ctx.session, kind, viewer=ctx.viewer)
    response = RedirectResponse(f"/admin/review-templates/{view.kind}", status_code=303)
    set_flash(response, ctx.request, f"The review template for {view.kind_label} is the default again.")
    return response
