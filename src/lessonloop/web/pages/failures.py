"""Observe: the failure list, the one-minute log form and the failure page with everything linked."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from lessonloop.actions.schemas import AddAction
from lessonloop.actions.service import add_action
from lessonloop.discussion.service import failure_discussion
from lessonloop.escalations.service import EscalationPolicy
from lessonloop.failures.models import Failure, FailureStatus, Severity, Visibility
from lessonloop.failures.page import failure_page as failure_page_data
from lessonloop.failures.page import similar_on_page
from lessonloop.failures.schemas import ConfirmRepeat, LogFailure, MoveFailure
from lessonloop.failures.service import (
    confirm_repeat,
    list_failures,
    transition,
)
from lessonloop.fields import parse_command
from lessonloop.followthrough.checklists import list_checklists, revisions_because_of
from lessonloop.followthrough.guardrails import guardrail_out, guardrails_because_of, state_kind
from lessonloop.people.service import list_people, list_teams, team_choices
from lessonloop.reviews.models import GapType, Review
from lessonloop.reviews.service import review_for_failure
from lessonloop.signals.observe import log_and_observe
from lessonloop.web.context import Ctx, Form, SignedIn, WebRoute
from lessonloop.web.forms import Form as PageForm
from lessonloop.web.render import set_flash

router = APIRouter(route_class=WebRoute)

LOG_FIELDS = (
    "title",
    "observation",
    "kind",
    "severity",
    "visibility",
    "team",
    "people",
    "labels",
    "impact",
    "occurred_at",
    "detected_at",
)
#: The log form's labels: beside each field and in the list of what to correct.
LOG_LABELS = {
    "title": "What went wrong, in one line",
    "observation": "What happened",
    "kind": "Kind",
    "severity": "Severity",
    "visibility": "Who may see it",
    "team": "Team",
    "people": "People involved",
    "labels": "Labels",
    "impact": "Impact",
    "occurred_at": "Happened on",
    "detected_at": "Noticed on",
}
ACTION_FIELDS = ("title", "owner", "due_date", "review_date", "backfill")
EXPERIMENT_FIELDS = ("hypothesis", "metric", "comparator", "threshold", "start_date", "end_date")
PLAN_FIELDS = ("person", "goals", "support", "review_date")
REVISE_FIELDS = ("checklist", "items", "reason")
GUARDRAIL_FIELDS = ("title", "owner", "expires_on", "rollback_plan", "reason", "team")
# A gap in the practice, not in a person: change a checklist or add a guardrail.
PRACTICE_GAPS = (GapType.process.value, GapType.context.value)


def split_list(raw: str) -> list[str]:
    """``"ana, ben"`` → ``["ana", "ben"]`` (commas, semicolons or new lines)."""
    return [part.strip() for part in re.split(r"[,;\n]", raw or "") if part.strip()]


VISIBILITY_HELP = {
    Visibility.team.value: "team — its team, the reporter and the people involved",
    Visibility.org.value: "org — everyone signed in",
    Visibility.private.value: "private — the reporter, the people involved and the team's leads",
}


def _choices(ctx: Ctx) -> dict[str, Any]:
    teams = list_teams(ctx.session, viewer=ctx.viewer)
    return {
        "teams": teams,
        "team_options": [(t.id, t.name) for t in teams],
        "severity_options": [(s.value, s.value) for s in Severity],
        "visibility_options": [(v, VISIBILITY_HELP[v]) for v in ("team", "org", "private")],
        "statuses": [s.value for s in FailureStatus],
    }


@router.get("/failures")
def failure_list(ctx: SignedIn, status: str = "", team: str = "", label: str = "", page: int = 1) -> Response:
    found = list_failures(
        ctx.session,
        status=status or None,
        team=team or None,
        label=label or None,
        page=max(1, page),
        page_size=25,
        viewer=ctx.viewer,
    )
    return ctx.page(
        "failures/list.html",
        nav="failures",
        found=found,
        filters={"status": status, "team": team, "label": label},
        **_choices(ctx),
    )


@router.get("/failures/new")
def failure_new(ctx: SignedIn) -> Response:
    teams = ctx.viewer.teams()
    form = PageForm(
        LOG_FIELDS,
        labels=LOG_LABELS,
        values={
            "kind": "other",
            "severity": "medium",
            "visibility": "team",
            "team": str(teams[0]) if teams else "",
            "detected_at": dt.date.today().isoformat(),
        },
    )
    return ctx.page("failures/new.html", nav="log", form=form, **_choices(ctx))


@router.post("/failures")
def failure_create(ctx: SignedIn, data: Form) -> Response:
    form = PageForm.posted(data, LOG_FIELDS, labels=LOG_LABELS)
    viewer = ctx.viewer
    with form.attempt(ctx.session):
        command = parse_command(
            LogFailure,
            {
                "title": form.text("title"),
                "observation": form.text("observation"),
                "kind": form.text("kind") or "other",
                "severity": form.text("severity") or "medium",
                "visibility": form.text("visibility") or "team",
                "team": form.text("team") or None,
                "people": split_list(form.text("people")),
                "labels": split_list(form.text("labels")),
                "impact": form.text("impact"),
                "occurred_at": form.text("occurred_at"),
                "detected_at": form.text("detected_at"),
            },
        )
        logged = log_and_observe(
            ctx.session,
            command,
            policy=EscalationPolicy.from_settings(ctx.request.app.state.settings),
            viewer=viewer,
        )
        failure, report = logged.failure, logged.report
    if not form.ok:
        return ctx.page("failures/new.html", nav="log", status_code=422, form=form, **_choices(ctx))
    message = f"Failure {failure.id} logged."
    if report.similar:
        message += " Have we seen this before? See the similar failures below."
    if report.escalations:
        message += f" The pattern now repeats: {len(report.escalations)} escalation(s) opened or grown."
    response = RedirectResponse(f"/failures/{failure.id}", status_code=303)
    set_flash(response, ctx.request, message)
    return response


def lines(raw: str) -> list[str]:
    """A textarea with one item per line → the items (blank lines dropped)."""
    return [line.strip() for line in (raw or "").splitlines() if line.strip()]


def _followthrough(
    ctx: Ctx, failure: Failure, review: Review | None, checklist_ref: str
) -> tuple[dict[str, Any], dict[str, PageForm]]:
    """What changed because of the failure, and (after a process or context gap) the forms that
    change the practice: revise a checklist, add a guardrail."""
    s, v = ctx.session, ctx.viewer
    today = dt.date.today()
    guardrails = [
        (g, guardrail_out(s, g, viewer=v, today=today))
        for g in guardrails_because_of(s, failure.id, viewer=ctx.viewer)
    ]
    practice_gap = bool(
        review is not None and review.status == "completed" and review.gap_type in PRACTICE_GAPS
    )
    checklists = list_checklists(s, viewer=ctx.viewer) if practice_gap else []
    chosen = None
    if checklists:
        chosen = checklists[0]
        if checklist_ref:
            chosen = next((c for c in checklists if str(c.id) == checklist_ref), chosen)
    forms = {
        "revise": PageForm(
            REVISE_FIELDS,
            {
                "checklist": str(chosen.id) if chosen else "",
                "items": "\n".join(chosen.latest.items) if chosen else "",
            },
        ),
        "guardrail": PageForm(
            GUARDRAIL_FIELDS,
            {
                "owner": ctx.person.handle,
                "expires_on": (today + dt.timedelta(days=30)).isoformat(),
                "team": str(failure.team_id or ""),
            },
        ),
    }
    data = {
        "revisions": revisions_because_of(s, failure.id, viewer=v),
        "guardrails": guardrails,
        "guardrail_states": {g.id: state_kind(g, today) for g, _ in guardrails},
        "practice_gap": practice_gap,
        "checklists": checklists,
        "chosen": chosen,
    }
    return data, forms


def failure_page(
    ctx: Ctx,
    failure_id: int,
    *,
    status_code: int = 200,
    experiment_action: int | None = None,
    checklist: str = "",
    **forms: PageForm,
) -> Response:
    """The failure with its review, actions, experiments, lessons, repeats, history and similar ones."""
    s = ctx.session
    page = failure_page_data(s, failure_id, viewer=ctx.viewer)
    failure, overview, review = page.failure, page.overview, page.review
    today = dt.date.today()
    defaults = {
        "action": PageForm(ACTION_FIELDS, {"owner": ctx.person.handle}),
        "experiment": PageForm(
            EXPERIMENT_FIELDS,
            {
                "comparator": ">=",
                "start_date": today.isoformat(),
                "end_date": (today + dt.timedelta(days=30)).isoformat(),
            },
        ),
        "plan": PageForm(PLAN_FIELDS, {"review_date": (today + dt.timedelta(days=30)).isoformat()}),
    }
    if "revise" in forms:
        checklist = forms["revise"].text("checklist")
    changes, practice_forms = _followthrough(ctx, failure, review, checklist)
    defaults.update(practice_forms)
    defaults.update(forms)
    return ctx.page(
        "failures/show.html",
        nav="failures",
        status_code=status_code,
        failure=failure,
        overview=overview,
        experiments_by_action={
            a.id: [e for e in overview.experiments if e.action_id == a.id] for a in overview.actions
        },
        workable=page.workable,
        can_edit=page.can_edit,
        history=page.history,
        extra_answers=page.extra_answers,
        may_plan=page.may_plan,
        plan_people=page.plan_people,
        people_options=[(p.handle, f"{p.name} ({p.handle})") for p in list_people(s, viewer=ctx.viewer)],
        forms=defaults,
        experiment_action=experiment_action,
        team_options=team_choices(s, viewer=ctx.viewer),
        discussion=failure_discussion(s, failure.id, viewer=ctx.viewer),
        **changes,
    )


@router.get("/failures/{failure_id}")
def failure_show(ctx: SignedIn, failure_id: int, checklist: str = "") -> Response:
    return failure_page(ctx, failure_id, checklist=checklist[:200])


@router.get("/failures/{failure_id}/similar")
def failure_similar(ctx: SignedIn, failure_id: int) -> Response:
    """The failure page's "have we seen this before?" section: loaded by the page after it is
    shown (htmx), or as a page of its own without JavaScript."""
    found = similar_on_page(ctx.session, failure_id, viewer=ctx.viewer)
    template = (
        "failures/_similar.html"
        if ctx.request.headers.get("hx-request") == "true"
        else "failures/similar.html"
    )
    return ctx.page(
        template,
        nav="failures",
        failure=found.failure,
        can_edit=found.can_edit,
        similar=found.similar,
        suggested=found.suggested,
        overlap=found.overlap,
    )


@router.post("/failures/{failure_id}/status")
def failure_status(ctx: SignedIn, failure_id: int, data: Form) -> Response:
    form = PageForm.posted(data, ("status",))
    with form.attempt(ctx.session):
        move = parse_command(MoveFailure, {"status": form.text("status")})
        transition(ctx.session, failure_id, move.status, viewer=ctx.viewer)
    response = RedirectResponse(f"/failures/{failure_id}", status_code=303)
    set_flash(
        response,
        ctx.request,
        f"Moved to {form.text('status')}."
        if form.ok
        else f"Not moved: {form.message or '; '.join(form.errors.values())}",
    )
    return response


@router.post("/failures/{failure_id}/repeat")
def failure_repeat(ctx: SignedIn, failure_id: int, data: Form) -> Response:
    form = PageForm.posted(data, ("repeat_of",))
    with form.attempt(ctx.session):
        command = parse_command(ConfirmRepeat, {"repeat_of": form.text("repeat_of")})
        confirm_repeat(ctx.session, failure_id, command.repeat_of, viewer=ctx.viewer)
    response = RedirectResponse(f"/failures/{failure_id}", status_code=303)
    message = (
        f"Confirmed as a repeat of failure {form.text('repeat_of')}."
        if form.ok
        else f"Not confirmed: {form.message or form.error('repeat_of')}"
    )
    set_flash(response, ctx.request, message)
    return response


@router.post("/failures/{failure_id}/actions")
def failure_add_action(ctx: SignedIn, failure_id: int, data: Form) -> Response:
    form = PageForm.posted(data, ACTION_FIELDS)
    with form.attempt(ctx.session):
        command = parse_command(
            AddAction,
            {
                "failure_id": failure_id,
                "title": form.text("title"),
                "owner": form.text("owner") or None,
                "due_date": form.text("due_date"),
                "review_date": form.text("review_date"),
                "backfill": form.text("backfill") == "yes",
            },
        )
        review = review_for_failure(ctx.session, failure_id, viewer=ctx.viewer)
        action = add_action(
            ctx.session,
            **command.model_dump(),
            review_id=review.id if review is not None else None,
            viewer=ctx.viewer,
        )
    if not form.ok:
        return failure_page(ctx, failure_id, status_code=422, action=form)
    response = RedirectResponse(f"/failures/{failure_id}#action-{action.id}", status_code=303)
    set_flash(response, ctx.request, f"Action {action.id} added, owned by {action.owner.name}.")
    return response
