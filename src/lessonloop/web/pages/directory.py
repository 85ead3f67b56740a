"""Teams and people: who is in which team, what they own, and accounts for org admins."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from lessonloop.access.scope import require_directory_admin
from lessonloop.accounts.service import accounts_by_person, create_account, create_user
from lessonloop.actions.service import list_actions
from lessonloop.coaching.service import notes_visible_to, plans_visible_to, teams_led_over
from lessonloop.failures.history import records_history
from lessonloop.failures.service import list_failures
from lessonloop.followthrough.digests import may_read_digest
from lessonloop.followthrough.recognition import (
    KIND_HELP,
    can_change_recognition,
    counts_by_kind,
    list_recognitions,
)
from lessonloop.lessons.service import first_lessons
from lessonloop.people.service import get_person, get_team, list_people, list_teams
from lessonloop.store.base import utcnow
from lessonloop.web.context import Ctx, Form, SignedIn, WebRoute
from lessonloop.web.forms import Form as PageForm
from lessonloop.web.pages.home import metric_charts
from lessonloop.web.render import set_flash

router = APIRouter(route_class=WebRoute)

USER_FIELDS = ("name", "handle", "email", "password", "admin")
RECOGNITION_FIELDS = ("person", "kind", "note", "failure_id")
# get_or_404 names a failure id that is not a number "id"; recognise names the giver "by".
RECOGNITION_ALIASES = {"id": "failure_id", "by": "person"}
RECOGNITION_EDIT_FIELDS = ("note", "next")
ACCOUNT_FIELDS = ("person", "password", "admin")


@router.get("/teams")
def team_list(ctx: SignedIn) -> Response:
    return ctx.page("teams/list.html", nav="teams", teams=list_teams(ctx.session, viewer=ctx.viewer))


#: A refused correction of one recognition: its id and the posted form (shown open, with errors).
RecognitionEdit = tuple[int, PageForm]


def _recognition(
    ctx: Ctx, rows: list[Any], form: PageForm, edit: RecognitionEdit | None = None
) -> dict[str, Any]:
    changeable = {r.id for r in rows if can_change_recognition(ctx.viewer, r)}
    # Each correctable one has its form; a refused one keeps what was typed and its errors.
    edit_forms = {
        r.id: PageForm(RECOGNITION_EDIT_FIELDS, {"note": r.note or ""}) for r in rows if r.id in changeable
    }
    if edit is not None and edit[0] in edit_forms:
        edit_forms[edit[0]] = edit[1]
    return {
        "recognitions": rows,
        # The history of each one shown (the latest 20), read at once.
        "recognition_history": records_history(ctx.session, "recognition", rows[:20], viewer=ctx.viewer),
        "recognition_counts": counts_by_kind(rows),
        "recognition_kinds": list(KIND_HELP.items()),
        "recognition_form": form,
        # Its author or an org admin may correct or delete one (web.pages.followthrough).
        "recognition_changeable": changeable,
        "recognition_edit_forms": edit_forms,
        "recognition_refused": edit[0] if edit else None,
    }


def team_page(
    ctx: Ctx,
    team_id: int,
    *,
    status_code: int = 200,
    recognition_form: PageForm | None = None,
    recognition_edit: RecognitionEdit | None = None,
) -> Response:
    s, v = ctx.session, ctx.viewer
    team = get_team(s, team_id, viewer=ctx.viewer)
    members = sorted(team.memberships, key=lambda m: (m.role != "lead", m.person.name))
    form = recognition_form or PageForm(RECOGNITION_FIELDS, {"kind": "candid-review"})
    return ctx.page(
        "teams/show.html",
        nav="teams",
        status_code=status_code,
        team=team,
        members=members,
        member_options=[
            (ms.person.handle, ms.person.name) for ms in members if ms.person.id != ctx.person.id
        ],
        failures=list_failures(s, team=team.id, page_size=15, viewer=v),
        actions=list_actions(s, team=team.id, status="open", page_size=100, viewer=v).items,
        lessons=first_lessons(s, team=team.id, limit=10, viewer=v),
        may_read_digest=may_read_digest(v, team),
        **_recognition(ctx, list_recognitions(s, team=team.id, viewer=v), form, recognition_edit),
        **metric_charts(ctx, team_id=team.id),
    )


@router.get("/teams/{team_id}")
def team_show(ctx: SignedIn, team_id: int) -> Response:
    return team_page(ctx, team_id)


def person_page(
    ctx: Ctx,
    handle: str,
    *,
    status_code: int = 200,
    recognition_form: PageForm | None = None,
    recognition_edit: RecognitionEdit | None = None,
) -> Response:
    s, v = ctx.session, ctx.viewer
    person = get_person(s, handle, viewer=ctx.viewer)
    leads = person.id != ctx.person.id and bool(teams_led_over(s, ctx.person, person, viewer=ctx.viewer))
    form = recognition_form or PageForm(
        RECOGNITION_FIELDS, {"person": person.handle, "kind": "candid-review"}
    )
    return ctx.page(
        "people/show.html",
        nav="teams",
        status_code=status_code,
        person=person,
        memberships=sorted(person.memberships, key=lambda m: m.team.name),
        actions=list_actions(s, owner=person.id, status="open", page_size=100, viewer=v).items,
        done=list_actions(s, owner=person.id, status="done", page_size=10, viewer=v),
        notes=notes_visible_to(s, v, subject=person.id),
        plans=[p for p in plans_visible_to(s, v) if p.person_id == person.id],
        may_coach=leads,
        is_me=person.id == ctx.person.id,
        form=PageForm(("body",)),
        **_recognition(ctx, list_recognitions(s, person=person.id, viewer=v), form, recognition_edit),
    )


@router.get("/people/{handle}")
def person_show(ctx: SignedIn, handle: str) -> Response:
    return person_page(ctx, handle)


def _accounts_page(ctx: Ctx, *, status_code: int = 200, **forms: PageForm) -> Response:
    require_directory_admin(ctx.viewer, "manage accounts")
    people = list_people(ctx.session, viewer=ctx.viewer)
    with_account = accounts_by_person(ctx.session, viewer=ctx.viewer)
    accounts = {p.id: with_account.get(p.id) for p in people}
    return ctx.page(
        "admin/accounts.html",
        nav="admin",
        status_code=status_code,
        people=people,
        accounts=accounts,
        without_account=[(p.handle, f"{p.name} ({p.handle})") for p in people if accounts[p.id] is None],
        now_utc=utcnow(),
        user_form=forms.get("user_form", PageForm(USER_FIELDS)),
        account_form=forms.get("account_form", PageForm(ACCOUNT_FIELDS)),
    )


@router.get("/admin/accounts")
def accounts_page(ctx: SignedIn) -> Response:
    return _accounts_page(ctx)


@router.post("/admin/accounts")
def accounts_create_user(ctx: SignedIn, data: Form) -> Response:
    require_directory_admin(ctx.viewer, "manage accounts")
    form = PageForm.posted(data, USER_FIELDS)
    with form.attempt(ctx.session):
        account = create_user(
            ctx.session,
            name=form.text("name"),
            handle=form.text("handle").lower(),
            email=form.text("email") or None,
            password=form.raw("password"),
            admin=form.text("admin") == "yes",
            viewer=ctx.viewer,
        )
    if not form.ok:
        form.values["password"] = ""
        return _accounts_page(ctx, status_code=422, user_form=form)
    response = RedirectResponse("/admin/accounts", status_code=303)
    set_flash(response, ctx.request, f"{account.person.name} can now sign in as {account.person.handle}.")
    return response


@router.post("/admin/accounts/existing")
def accounts_create_for_person(ctx: SignedIn, data: Form) -> Response:
    require_directory_admin(ctx.viewer, "manage accounts")
    form = PageForm.posted(data, ACCOUNT_FIELDS)
    with form.attempt(ctx.session):
        account = create_account(
            ctx.session,
            form.text("person"),
            password=form.raw("password"),
            admin=form.text("admin") == "yes",
            viewer=ctx.viewer,
        )
    if not form.ok:
        form.values["password"] = ""
        return _accounts_page(ctx, status_code=422, account_form=form)
    response = RedirectResponse("/admin/accounts", status_code=303)
    set_flash(response, ctx.request, f"{account.person.name} can now sign in as {account.person.handle}.")
    return response
