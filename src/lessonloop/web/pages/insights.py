"""Re-evaluate: the learning metrics per team and month, their CSV, and the escalations.

Everything here is computed by ``signals.metrics`` and ``escalations.service`` over what the
signed-in person may see; the routes only read the query and choose the template.

An escalation's form offers its owner as a choice among the people who may see it
(``escalations.service.owner_choices``, for the page's escalations at once), and — to a lead or admin of its team or an org admin
only (``may_choose_route``) — the HR business partner or employee assistance route, with the
required reason and the person it concerns.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from starlette.responses import RedirectResponse, Response

from lessonloop.coerce import as_datetime
from lessonloop.errors import LessonloopError
from lessonloop.escalations.models import (
    CHOSEN_ROUTES,
    ROUTE_LABELS,
    Escalation,
    EscalationStatus,
    SupportRoute,
)
from lessonloop.escalations.schemas import UpdateEscalation
from lessonloop.escalations.service import (
    escalations_page,
    get_escalation,
    may_change_escalation,
    may_choose_route,
    owner_choices,
    update_escalation,
)
from lessonloop.failures.history import records_history
from lessonloop.fields import parse_command
from lessonloop.people.service import get_team, list_people, team_choices
from lessonloop.signals.metrics import compute_metrics, metrics_csv, month_start
from lessonloop.web.context import Ctx, Form, SignedIn, WebRoute
from lessonloop.web.forms import Form as PageForm
from lessonloop.web.pages.home import metric_charts
from lessonloop.web.render import set_flash

router = APIRouter(route_class=WebRoute)

ESCALATION_FIELDS = ("status", "owner", "resolution", "support_route", "reason", "person")
ESCALATION_LABELS = {
    "owner": "Owner",
    "support_route": "Support route",
    "reason": "Why this route",
    "person": "The person it concerns",
}


def _filters(ctx: Ctx, team: str, since: str, until: str) -> tuple[dict[str, Any], dict[str, str], str]:
    """The metrics' keyword filters, the values as typed, and an error message (or "")."""
    typed = {"team": team.strip(), "since": since.strip(), "until": until.strip()}
    kwargs: dict[str, Any] = {}
    try:
        if typed["team"]:
            kwargs["team_id"] = get_team(ctx.session, typed["team"], viewer=ctx.viewer).id
        for name in ("since", "until"):
            if typed[name]:
                kwargs[name] = as_datetime(typed[name], name)
    except LessonloopError as exc:
        return {}, typed, str(exc)
    return kwargs, typed, ""


def _page(
    ctx: Ctx,
    *,
    team: str,
    since: str,
    until: str,
    forms: dict[int, PageForm] | None = None,
    status_code: int = 200,
    escalations_page_number: int = 1,
) -> Response:
    kwargs, typed, problem = _filters(ctx, team, since, until)
    result = compute_metrics(ctx.session, today=dt.date.today(), viewer=ctx.viewer, **kwargs)
    # A page of escalations at a time (decision 66); one whose form was just posted with a
    # problem is shown whatever page it is on, so its errors are seen.
    shown = escalations_page(
        ctx.session, page=escalations_page_number, team_id=kwargs.get("team_id"), viewer=ctx.viewer
    )
    forms = forms or {}
    escalations = list(shown.items)
    for eid in forms:
        if all(e.id != eid for e in escalations):
            escalations.insert(0, get_escalation(ctx.session, eid, viewer=ctx.viewer))
    changeable = {e.id for e in escalations if may_change_escalation(ctx.viewer, e)}
    # Only a form posted back with a problem is shown open with its choices; the others load
    # theirs when opened (GET /escalations/{id}).
    inline = [e for e in escalations if e.id in forms]
    return ctx.page(
        "insights.html",
        nav="insights",
        status_code=422 if problem else status_code,
        result=result,
        filters=typed,
        problem=problem,
        # the filter's choices: ids and names, not the teams with their rosters
        teams=[{"id": i, "name": name} for i, name in team_choices(ctx.session, viewer=ctx.viewer)],
        escalations=escalations,
        escalations_shown=shown,
        escalation_pages=_page_links(ctx, shown.page, shown.has_more),
        failure_ids_shown=FAILURE_IDS_SHOWN,
        escalation_history=records_history(ctx.session, "escalation", escalations, viewer=ctx.viewer),
        escalation_forms={e.id: forms.get(e.id) or _escalation_form(e) for e in escalations},
        changeable=changeable,
        inline_forms={e.id for e in inline},
        statuses=[s.value for s in EscalationStatus],
        **_form_choices(ctx, [e for e in inline if e.id in changeable]),
        **metric_charts(ctx, result=result),
    )


def _form_choices(ctx: Ctx, escalations: list[Escalation]) -> dict[str, Any]:
    """What the escalation form (``escalations/_form.html``) offers for ``escalations`` (which
    ``ctx.viewer`` may change): owners among the people who may see each, and to a lead or admin
    of its team or an org admin the chosen routes and the person it concerns."""
    open_ones = [e for e in escalations if e.status != EscalationStatus.resolved.value]
    choosers = {e.id for e in open_ones if may_choose_route(ctx.viewer, e)}
    people = list_people(ctx.session, viewer=ctx.viewer) if choosers else []
    return {
        "owner_options": {
            eid: [(p.handle, f"{p.name} ({p.handle})") for p in people]
            for eid, people in owner_choices(ctx.session, open_ones, viewer=ctx.viewer).items()
        },
        "route_choosers": choosers,
        "chosen_route_options": [(r.value, ROUTE_LABELS[r]) for r in SupportRoute if r in CHOSEN_ROUTES],
        "people_options": [(str(p.id), f"{p.name} ({p.handle})") for p in people],
        "route_labels": {r.value: ROUTE_LABELS[r] for r in SupportRoute},
    }


@router.get("/escalations/{escalation_id}")
def escalation_page(ctx: SignedIn, escalation_id: int) -> Response:
    """One escalation with its form: swapped into the insights page's card when the form is
    opened there (htmx: the form alone), or a page of its own without JavaScript. 404 for one
    the person may not see, as everywhere."""
    escalation = get_escalation(ctx.session, escalation_id, viewer=ctx.viewer)
    return _escalation_page(
        ctx,
        escalation,
        _escalation_form(escalation),
        fragment=ctx.request.headers.get("hx-request") == "true",
    )


def _escalation_page(
    ctx: Ctx, escalation: Escalation, form: PageForm, *, fragment: bool = False, status_code: int = 200
) -> Response:
    changeable = may_change_escalation(ctx.viewer, escalation)
    if fragment and (not changeable or escalation.status == EscalationStatus.resolved.value):
        return ctx.page("escalations/_closed.html", e=escalation)
    return ctx.page(
        "escalations/_form.html" if fragment else "escalations/show.html",
        status_code=status_code,
        nav="insights",
        e=escalation,
        # the form on the escalation's own page says so: a problem is then shown there
        own_page=not fragment,
        failure_ids_shown=FAILURE_IDS_SHOWN,
        history=[]
        if fragment
        else records_history(ctx.session, "escalation", [escalation], viewer=ctx.viewer).get(
            escalation.id, []
        ),
        form=form,
        changeable=changeable,
        **_form_choices(ctx, [escalation] if changeable else []),
    )


def default_since(today: dt.date) -> str:
    """The page's window when no ``since`` is asked for: the 12 months its charts show (from the
    first day of the month 11 months ago). An empty ``since`` (the date cleared in the form)
    means all time, as before (decision 43: all time over 100k failures is a long table, and
    slow, for a page opened from the menu)."""
    return month_start(today, 11).isoformat()


# An escalation lists at most this many of its failures on the page (newest ids last, as
# stored), then how many more; the API lists them all.
FAILURE_IDS_SHOWN = 30


def _page_links(ctx: Ctx, page: int, has_more: bool) -> dict[str, str]:
    """The URLs of the newer and older pages of escalations, keeping the page's other filters."""
    params = dict(ctx.request.query_params)

    def url(n: int) -> str:
        query = (
            {**params, "escalations_page": str(n)}
            if n > 1
            else {k: v for k, v in params.items() if k != "escalations_page"}
        )
        return "/insights" + ("?" + urlencode(query) if query else "") + "#escalations"

    links = {}
    if page > 1:
        links["newer"] = url(page - 1)
    if has_more:
        links["older"] = url(page + 1)
    return links


@router.get("/insights")
def insights(
    ctx: SignedIn,
    team: str = "",
    since: str | None = None,
    until: str = "",
    escalations_page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    return _page(
        ctx,
        team=team,
        since=default_since(dt.date.today()) if since is None else since,
        until=until,
        escalations_page_number=escalations_page,
    )


@router.get("/insights.csv")
def insights_csv(ctx: SignedIn, team: str = "", since: str = "", until: str = "") -> Response:
    kwargs, _typed, problem = _filters(ctx, team, since, until)
    if problem:
        return Response(problem + "\n", status_code=422, media_type="text/plain; charset=utf-8")
    result = compute_metrics(ctx.session, today=dt.date.today(), viewer=ctx.viewer, **kwargs)
    return Response(
        metrics_csv(result),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="lessonloop-metrics.csv"'},
    )


def _escalation_form(escalation: Escalation) -> PageForm:
    return PageForm(
        ESCALATION_FIELDS,
        {
            "owner": escalation.owner.handle if escalation.owner else "",
            "person": str(escalation.person_id or ""),
        },
        labels=ESCALATION_LABELS,
    )


@router.post("/escalations/{escalation_id}")
def escalation_update(ctx: SignedIn, escalation_id: int, data: Form) -> Response:
    escalation = get_escalation(ctx.session, escalation_id, viewer=ctx.viewer)
    current_owner = escalation.owner.handle if escalation.owner else ""
    current_person = str(escalation.person_id or "")
    form = PageForm.posted(data, ESCALATION_FIELDS, labels=ESCALATION_LABELS)
    route = form.text("support_route")
    with form.attempt(ctx.session):
        command = parse_command(
            UpdateEscalation,
            {
                "status": form.text("status") or None,
                # The select shows the current owner: only a different one is a re-assignment.
                "owner": form.text("owner") if form.text("owner") not in ("", current_owner) else None,
                "resolution": form.text("resolution") or None,
                "support_route": route or None,
                # Reason and person go with a chosen route only (the person is prefilled).
                "reason": (form.text("reason") or None) if route else None,
                "person": (form.text("person") or None)
                if route and form.text("person") != current_person
                else None,
            },
        )
        update_escalation(ctx.session, escalation_id, **command.model_dump(mode="json"), viewer=ctx.viewer)
    if not form.ok:
        if data.get("from") == "page":  # posted on the escalation's own page: shown there
            return _escalation_page(ctx, escalation, form, status_code=422)
        return _page(ctx, team="", since="", until="", forms={escalation_id: form}, status_code=422)
    # To the escalation's own page: on the insights page it may be on a later page of them.
    response = RedirectResponse(f"/escalations/{escalation_id}", status_code=303)
    set_flash(response, ctx.request, f"Escalation {escalation_id} updated.")
    return response
