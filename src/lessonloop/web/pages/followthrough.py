"""Follow-through: checklists and their versions, guardrails with an expiry, recognition.

* ``/checklists``: every checklist with its kind, current version and the failures (that the
  viewer may see) that shaped it; add one (version 1). ``/checklists/{id}``: its versions — who,
  when, why, which failure prompted it — and a diff between any two.
* ``/guardrails``: state (active, expiring, expired — needs a decision — or retired), owner,
  team, expiry and the failure behind it; renew, retire or edit (the owner, a lead or admin of
  its team, an org admin); add one.
* From a failure's page after a process or context gap: revise a checklist or add a guardrail
  *because of* that failure. From a person's or team's page: recognise someone; the one who
  gave a recognition (or an org admin) corrects or deletes it there.

The rules (a revision names its failure, a guardrail is short-term, nobody recognises
themselves, visibility of the failures they point at) are in :mod:`lessonloop.followthrough`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from lessonloop.failures.history import records_history
from lessonloop.fields import parse_command
from lessonloop.followthrough.checklists import (
    create_checklist,
    diff_versions,
    get_checklist,
    get_revision,
    list_checklists,
    prompted_by,
    revise_checklist,
    visible_shaping_failures,
)
from lessonloop.followthrough.guardrails import (
    add_guardrail,
    can_decide,
    edit_guardrail,
    get_guardrail,
    guardrail_out,
    list_guardrails,
    renew_guardrail,
    retire_guardrail,
    state_kind,
)
from lessonloop.followthrough.models import ChecklistKind
from lessonloop.followthrough.recognition import (
    delete_recognition,
    edit_recognition,
    get_recognition,
    recognise,
)
from lessonloop.followthrough.schemas import EditGuardrail, EditRecognition
from lessonloop.people.service import get_team, list_people, team_choices
from lessonloop.web.context import Ctx, Form, SignedIn, WebRoute, safe_next
from lessonloop.web.forms import Form as PageForm
from lessonloop.web.pages.directory import (
    RECOGNITION_ALIASES,
    RECOGNITION_EDIT_FIELDS,
    RECOGNITION_FIELDS,
    person_page,
    team_page,
)
from lessonloop.web.pages.editing import changed
from lessonloop.web.pages.failures import GUARDRAIL_FIELDS, REVISE_FIELDS, failure_page, lines
from lessonloop.web.render import set_flash

router = APIRouter(route_class=WebRoute)

CHECKLIST_FIELDS = ("name", "kind", "items", "reason", "failure_id")
NEW_GUARDRAIL_FIELDS = (*GUARDRAIL_FIELDS, "failure_id")
RENEW_FIELDS = ("expires_on", "reason")
RETIRE_FIELDS = ("reason",)
EDIT_GUARDRAIL_FIELDS = ("title", "owner", "expires_on", "rollback_plan", "reason")
# get_or_404 names a failure id that is not a number "id".
FAILURE_ALIASES = {"id": "failure_id"}
GUARDRAIL_TABS = (("", "In force or waiting"), ("expired", "Need a decision"), ("retired", "Retired"))


def _failure_number(raw: str) -> str:
    """``"#12"`` or ``"12"`` → ``"12"`` (what people type for a failure)."""
    return raw.strip().lstrip("#").strip()


def _redirect(ctx: Ctx, location: str, message: str) -> Response:
    response = RedirectResponse(location, status_code=303)
    set_flash(response, ctx.request, message)
    return response


# -- recognition ------------------------------------------------------------------------------------


def _recognise(ctx: Ctx, form: PageForm, *, team: int | None = None) -> str | None:
    """Record the recognition the form describes; the giver is the signed-in person."""
    with form.attempt(ctx.session):
        row = recognise(
            ctx.session,
            person=form.text("person"),
            kind=form.text("kind"),
            note=form.text("note"),
            by=ctx.person.id,
            team=team,
            failure_id=_failure_number(form.text("failure_id")) or None,
            viewer=ctx.viewer,
        )
        return f"Recognition recorded: {row.person.name}, {row.kind}."
    return None


@router.post("/people/{handle}/recognition")
def person_recognise(ctx: SignedIn, handle: str, data: Form) -> Response:
    form = PageForm.posted(data, RECOGNITION_FIELDS, aliases=RECOGNITION_ALIASES)
    form.values["person"] = handle
    message = _recognise(ctx, form)
    if message is None:
        return person_page(ctx, handle, status_code=422, recognition_form=form)
    return _redirect(ctx, f"/people/{handle}#recognition", message)


@router.post("/teams/{team_id}/recognition")
def team_recognise(ctx: SignedIn, team_id: int, data: Form) -> Response:
    team = get_team(ctx.session, team_id, viewer=ctx.viewer)
    form = PageForm.posted(data, RECOGNITION_FIELDS, aliases=RECOGNITION_ALIASES)
    message = _recognise(ctx, form, team=team.id)
    if message is None:
        return team_page(ctx, team_id, status_code=422, recognition_form=form)
    return _redirect(ctx, f"/teams/{team_id}#recognition", message)


# -- from a failure's page: change the practice -----------------------------------------------------


@router.post("/failures/{failure_id}/checklist-revisions")
def failure_revise_checklist(ctx: SignedIn, failure_id: int, data: Form) -> Response:
    form = PageForm.posted(data, REVISE_FIELDS)
    with form.attempt(ctx.session):
        revision = revise_checklist(
            ctx.session,
            form.text("checklist"),
            items=lines(form.raw("items")),
            reason=form.text("reason"),
            failure_id=failure_id,
            author=ctx.person.id,
            viewer=ctx.viewer,
        )
        message = f"{revision.checklist.name} is now v{revision.version}, because of this failure."
    if not form.ok:
        return failure_page(ctx, failure_id, status_code=422, revise=form)
    return _redirect(ctx, f"/failures/{failure_id}#changed", message)


def _add_guardrail(ctx: Ctx, form: PageForm, failure_id: int | str | None) -> Any:
    return add_guardrail(
        ctx.session,
        title=form.text("title"),
        owner=form.text("owner") or None,
        expires_on=form.text("expires_on"),
        rollback_plan=form.text("rollback_plan"),
        reason=form.text("reason"),
        team=form.text("team") or None,
        failure_id=failure_id,
        viewer=ctx.viewer,
    )


@router.post("/failures/{failure_id}/guardrails")
def failure_add_guardrail(ctx: SignedIn, failure_id: int, data: Form) -> Response:
    form = PageForm.posted(data, GUARDRAIL_FIELDS)
    with form.attempt(ctx.session):
        guardrail = _add_guardrail(ctx, form, failure_id)
        message = f"Guardrail added: {guardrail.title}, until {guardrail.expires_on.isoformat()}."
    if not form.ok:
        return failure_page(ctx, failure_id, status_code=422, guardrail=form)
    return _redirect(ctx, f"/failures/{failure_id}#changed", message)


# -- checklists -------------------------------------------------------------------------------------


def _checklists_page(ctx: Ctx, form: PageForm, *, status_code: int = 200) -> Response:
    s, v = ctx.session, ctx.viewer
    checklists = list_checklists(s, viewer=ctx.viewer)
    return ctx.page(
        "checklists/list.html",
        nav="checklists",
        status_code=status_code,
        rows=[(c, visible_shaping_failures(s, c, v)) for c in checklists],
        form=form,
        kind_options=[(k.value, k.value) for k in ChecklistKind],
    )


@router.get("/checklists")
def checklist_list(ctx: SignedIn) -> Response:
    return _checklists_page(ctx, PageForm(CHECKLIST_FIELDS, {"kind": ChecklistKind.checklist.value}))


@router.post("/checklists")
def checklist_create(ctx: SignedIn, data: Form) -> Response:
    form = PageForm.posted(data, CHECKLIST_FIELDS, aliases=FAILURE_ALIASES)
    with form.attempt(ctx.session):
        checklist = create_checklist(
            ctx.session,
            name=form.text("name"),
            items=lines(form.raw("items")),
            kind=form.text("kind") or ChecklistKind.checklist.value,
            author=ctx.person.id,
            reason=form.text("reason"),
            failure_id=_failure_number(form.text("failure_id")) or None,
            viewer=ctx.viewer,
        )
        location, message = f"/checklists/{checklist.id}", f"{checklist.name} v1 added."
    if not form.ok:
        return _checklists_page(ctx, form, status_code=422)
    return _redirect(ctx, location, message)


@router.get("/checklists/{checklist_id}")
def checklist_show(ctx: SignedIn, checklist_id: int, old: str = "", new: str = "") -> Response:
    s, v = ctx.session, ctx.viewer
    checklist = get_checklist(s, checklist_id, viewer=ctx.viewer)
    latest = checklist.latest.version
    asked = bool(old or new)
    form = PageForm(
        ("old", "new"),
        {"old": old or str(max(1, latest - 1)), "new": new or str(latest)},
    )
    # Each select's version must exist; a bad one is shown beside its select.
    for name in ("old", "new"):
        form.aliases = {"version": name}
        with form.attempt(s):
            get_revision(s, checklist, form.text(name), viewer=ctx.viewer)
    diff = None
    if form.ok and (asked or latest > 1):
        diff = diff_versions(s, checklist, form.text("old"), form.text("new"), viewer=ctx.viewer)
    return ctx.page(
        "checklists/show.html",
        nav="checklists",
        status_code=200 if form.ok else 422,
        checklist=checklist,
        versions=[(r, prompted_by(s, r, v)) for r in reversed(checklist.revisions)],
        shaped_by=visible_shaping_failures(s, checklist, v),
        version_options=[(r.version, f"v{r.version}") for r in checklist.revisions],
        form=form,
        diff=diff,
    )


# -- guardrails -------------------------------------------------------------------------------------


def _guardrails_page(
    ctx: Ctx,
    *,
    status: str = "",
    status_code: int = 200,
    add_form: PageForm | None = None,
    posted: tuple[str, int, PageForm] | None = None,
) -> Response:
    s, v = ctx.session, ctx.viewer
    today = dt.date.today()
    status = status if status in {key for key, _ in GUARDRAIL_TABS} else ""
    rows = list_guardrails(s, status=status or None, today=today, viewer=ctx.viewer)
    renew_default = {"expires_on": (today + dt.timedelta(days=30)).isoformat()}
    decisions: dict[str, PageForm] = {}
    for g in rows:
        decisions[f"renew-{g.id}"] = PageForm(RENEW_FIELDS, renew_default)
        decisions[f"retire-{g.id}"] = PageForm(RETIRE_FIELDS)
        decisions[f"edit-{g.id}"] = PageForm(EDIT_GUARDRAIL_FIELDS, _guardrail_values(g))
    if posted is not None:
        what, guardrail_id, form = posted
        decisions[f"{what}-{guardrail_id}"] = form
    people = list_people(s, viewer=ctx.viewer)
    return ctx.page(
        "guardrails/list.html",
        nav="guardrails",
        status_code=status_code,
        rows=[(g, guardrail_out(s, g, today=today, viewer=v), state_kind(g, today)) for g in rows],
        deciders={g.id for g in rows if can_decide(v, g)},
        guardrail_history=records_history(s, "guardrail", rows, viewer=v),
        decisions=decisions,
        posted=posted[:2] if posted is not None else None,
        # A refusal about a guardrail no longer listed here (retired meanwhile): above the list.
        orphan=posted[2] if posted is not None and posted[1] not in {g.id for g in rows} else None,
        status=status,
        tabs=GUARDRAIL_TABS,
        form=add_form
        or PageForm(
            NEW_GUARDRAIL_FIELDS,
            {
                "owner": ctx.person.handle,
                "expires_on": (today + dt.timedelta(days=30)).isoformat(),
                "team": str(v.teams()[0]) if v.teams() else "",
            },
        ),
        people_options=[(p.handle, f"{p.name} ({p.handle})") for p in people],
        team_options=team_choices(s, viewer=ctx.viewer),
    )


@router.get("/guardrails")
def guardrail_list(ctx: SignedIn, status: str = "") -> Response:
    return _guardrails_page(ctx, status=status)


@router.post("/guardrails")
def guardrail_create(ctx: SignedIn, data: Form) -> Response:
    form = PageForm.posted(data, NEW_GUARDRAIL_FIELDS, aliases=FAILURE_ALIASES)
    with form.attempt(ctx.session):
        guardrail = _add_guardrail(ctx, form, _failure_number(form.text("failure_id")) or None)
        location = f"/guardrails#guardrail-{guardrail.id}"
        message = f"Guardrail added: {guardrail.title}, until {guardrail.expires_on.isoformat()}."
    if not form.ok:
        return _guardrails_page(ctx, status_code=422, add_form=form)
    return _redirect(ctx, location, message)


@router.post("/guardrails/{guardrail_id}/renew")
def guardrail_renew(ctx: SignedIn, guardrail_id: int, data: Form) -> Response:
    form = PageForm.posted(data, RENEW_FIELDS)
    with form.attempt(ctx.session):
        guardrail = renew_guardrail(
            ctx.session,
            guardrail_id,
            expires_on=form.text("expires_on"),
            reason=form.text("reason"),
            by=ctx.person.id,
            viewer=ctx.viewer,
        )
        message = f"Renewed until {guardrail.expires_on.isoformat()}: {guardrail.title}."
    if not form.ok:
        return _guardrails_page(ctx, status_code=422, posted=("renew", guardrail_id, form))
    return _redirect(ctx, f"/guardrails#guardrail-{guardrail_id}", message)


def _guardrail_values(guardrail: Any) -> dict[str, Any]:
    return {
        "title": guardrail.title,
        "owner": guardrail.owner.handle,
        "expires_on": guardrail.expires_on.isoformat(),
        "rollback_plan": guardrail.rollback_plan,
        "reason": guardrail.reason,
    }


@router.post("/guardrails/{guardrail_id}/edit")
def guardrail_edit(ctx: SignedIn, guardrail_id: int, data: Form) -> Response:
    """Correct a guardrail: only the fields that differ are sent (one history row of changes)."""
    guardrail = get_guardrail(ctx.session, guardrail_id, viewer=ctx.viewer)
    form = PageForm.posted(data, EDIT_GUARDRAIL_FIELDS)
    posted = {name: form.text(name) for name in EDIT_GUARDRAIL_FIELDS}
    changes = changed(posted, _guardrail_values(guardrail))
    with form.attempt(ctx.session):
        command = parse_command(EditGuardrail, changes)
        edit_guardrail(ctx.session, guardrail_id, command.changes(), viewer=ctx.viewer)
    if not form.ok:
        return _guardrails_page(ctx, status_code=422, posted=("edit", guardrail_id, form))
    count = len(changes)
    message = (
        "Nothing changed."
        if not count
        else f"Guardrail saved: {count} field{'s' if count != 1 else ''} changed."
    )
    return _redirect(ctx, f"/guardrails#guardrail-{guardrail_id}", message)


@router.post("/guardrails/{guardrail_id}/retire")
def guardrail_retire(ctx: SignedIn, guardrail_id: int, data: Form) -> Response:
    form = PageForm.posted(data, RETIRE_FIELDS)
    with form.attempt(ctx.session):
        guardrail = retire_guardrail(
            ctx.session, guardrail_id, reason=form.text("reason"), by=ctx.person.id, viewer=ctx.viewer
        )
        message = f"Retired: {guardrail.title}. It is in the retired list with its decision log."
    if not form.ok:
        return _guardrails_page(ctx, status_code=422, posted=("retire", guardrail_id, form))
    return _redirect(ctx, "/guardrails", message)


# -- correcting a recognition ---------------------------------------------------------------------


@router.post("/recognitions/{recognition_id}/edit")
def recognition_edit(ctx: SignedIn, recognition_id: int, data: Form) -> Response:
    """Its author or an org admin corrects the note (403 for others, 404 if hidden)."""
    form = PageForm.posted(data, RECOGNITION_EDIT_FIELDS, labels={"note": "What they did"})
    back = safe_next(form.text("next"), "/")
    with form.attempt(ctx.session):
        command = parse_command(EditRecognition, {"note": form.text("note")})
        edit_recognition(ctx.session, recognition_id, note=command.note, viewer=ctx.viewer)
    if not form.ok:
        return _recognition_page(ctx, recognition_id, back, form)
    return _redirect(ctx, back, "Recognition corrected.")


_TEAM_PAGE = re.compile(r"^/teams/(\d+)(?:[#?]|$)")


def _recognition_page(ctx: Ctx, recognition_id: int, back: str, form: PageForm) -> Response:
    """A refused correction, like every other form: the page it was made on (a team's, else the
    recognised person's) again, its form open with the error beside the field (422)."""
    edit = (recognition_id, form)
    team = _TEAM_PAGE.match(back)
    if team:
        return team_page(ctx, int(team.group(1)), status_code=422, recognition_edit=edit)
    row = get_recognition(ctx.session, recognition_id, viewer=ctx.viewer)
    return person_page(ctx, row.person.handle, status_code=422, recognition_edit=edit)


@router.post("/recognitions/{recognition_id}/delete")
def recognition_delete(ctx: SignedIn, recognition_id: int, data: Form) -> Response:
    """Its author or an org admin deletes it (the history keeps what it said)."""
    form = PageForm.posted(data, ("next",))
    delete_recognition(ctx.session, recognition_id, viewer=ctx.viewer)
    return _redirect(ctx, safe_next(form.text("next"), "/"), "Recognition deleted.")
