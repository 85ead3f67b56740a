"""Act: the action board by owner (overdue first), one-click done with evidence, experiments."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from lessonloop.access.policy import can_work_on_action
from lessonloop.actions.models import Action
from lessonloop.actions.service import complete_action, drop_action, get_action, list_actions
from lessonloop.experiments.service import (
    add_experiment,
    experiment_verdict,
    get_experiment,
    list_experiments,
    record_observation,
)
from lessonloop.failures.models import Failure
from lessonloop.failures.service import get_visible_failure
from lessonloop.people.models import Person
from lessonloop.web.charts import observations_chart
from lessonloop.web.context import Ctx, Form, SignedIn, WebRoute, safe_next
from lessonloop.web.forms import Form as PageForm
from lessonloop.web.pages.failures import EXPERIMENT_FIELDS, failure_page
from lessonloop.web.render import markup, set_flash

router = APIRouter(route_class=WebRoute)

OBSERVATION_FIELDS = ("value", "observed_at", "note")


@dataclass
class Card:
    action: Action
    failure: Failure
    workable: bool
    error: str = ""
    evidence: str = ""


@dataclass
class Lane:
    owner: Person
    cards: list[Card] = field(default_factory=list)

    @property
    def overdue(self) -> int:
        today = dt.date.today()
        return sum(1 for c in self.cards if c.action.is_overdue(today))


def _card(ctx: Ctx, action: Action, *, error: str = "", evidence: str = "") -> Card:
    failure = get_visible_failure(ctx.session, action.failure_id, ctx.viewer)
    return Card(action, failure, can_work_on_action(ctx.viewer, action, failure), error, evidence)


def _board(
    ctx: Ctx, scope: str, *, status_code: int = 200, errors: dict[int, tuple[str, str]] | None = None
) -> Response:
    s, v = ctx.session, ctx.viewer
    if scope == "mine":
        actions = list_actions(s, owner=ctx.person.id, status="open", page_size=500, viewer=v).items
    elif scope == "teams":
        seen: dict[int, Action] = {}
        for team_id in v.teams():
            for action in list_actions(s, team=team_id, status="open", page_size=500, viewer=v).items:
                seen[action.id] = action
        actions = sorted(seen.values(), key=lambda a: (a.due_date, a.id))
    else:
        scope = "all"
        actions = list_actions(s, status="open", page_size=500, viewer=v).items
    lanes: dict[int, Lane] = {}
    for action in actions:
        error, evidence = (errors or {}).get(action.id, ("", ""))
        lanes.setdefault(action.owner_id, Lane(action.owner)).cards.append(
            _card(ctx, action, error=error, evidence=evidence)
        )
    ordered = sorted(
        lanes.values(),
        key=lambda lane: (-lane.overdue, min(c.action.due_date for c in lane.cards), lane.owner.handle),
    )
    done = list_actions(s, status="done", page_size=500, viewer=v).items
    recent = sorted(done, key=lambda a: a.closed_at or dt.datetime.min.replace(tzinfo=dt.UTC), reverse=True)[
        :8
    ]
    return ctx.page(
        "actions/board.html",
        nav="actions",
        status_code=status_code,
        lanes=ordered,
        scope=scope,
        total=len(actions),
        recent=recent,
    )


@router.get("/actions")
def action_board(ctx: SignedIn, scope: str = "all") -> Response:
    return _board(ctx, scope)


def _back(ctx: Ctx, data_next: str, default: str) -> str:
    return safe_next(data_next, default)


@router.post("/actions/{action_id}/done")
def action_done(ctx: SignedIn, action_id: int, data: Form) -> Response:
    form = PageForm.posted(data, ("evidence", "next", "scope"))
    with form.attempt(ctx.session):
        action = complete_action(ctx.session, action_id, evidence=form.text("evidence"), viewer=ctx.viewer)
    htmx = ctx.request.headers.get("hx-request") == "true"
    if not form.ok:
        message = form.error("evidence") or form.message or "not done"
        if htmx:
            card = _card(ctx, get_action(ctx.session, action_id, viewer=ctx.viewer), error=message)
            return ctx.page("actions/_card.html", card=card, scope=form.text("scope"))
        return _board(
            ctx,
            form.text("scope") or "all",
            status_code=422,
            errors={action_id: (message, form.text("evidence"))},
        )
    if htmx:
        return ctx.page("actions/_card.html", card=_card(ctx, action), scope=form.text("scope"))
    response = RedirectResponse(_back(ctx, form.text("next"), "/actions"), status_code=303)
    set_flash(response, ctx.request, f"Action {action.id} is done; the evidence is recorded.")
    return response


@router.post("/actions/{action_id}/drop")
def action_drop(ctx: SignedIn, action_id: int, data: Form) -> Response:
    form = PageForm.posted(data, ("reason", "next"))
    with form.attempt(ctx.session):
        drop_action(ctx.session, action_id, reason=form.text("reason"), viewer=ctx.viewer)
    response = RedirectResponse(_back(ctx, form.text("next"), "/actions"), status_code=303)
    set_flash(
        response,
        ctx.request,
        f"Action {action_id} dropped." if form.ok else f"Not dropped: {form.error('reason') or form.message}",
    )
    return response


@router.post("/actions/{action_id}/experiments")
def action_add_experiment(ctx: SignedIn, action_id: int, data: Form) -> Response:
    form = PageForm.posted(data, EXPERIMENT_FIELDS)
    with form.attempt(ctx.session):
        experiment = add_experiment(
            ctx.session,
            action_id=action_id,
            hypothesis=form.text("hypothesis"),
            metric=form.text("metric"),
            comparator=form.text("comparator"),
            threshold=form.text("threshold"),
            start_date=form.text("start_date"),
            end_date=form.text("end_date"),
            viewer=ctx.viewer,
        )
    if not form.ok:
        action = get_action(ctx.session, action_id, viewer=ctx.viewer)
        return failure_page(
            ctx, action.failure_id, status_code=422, experiment_posted=form, experiment_action=action_id
        )
    response = RedirectResponse(f"/experiments/{experiment.id}", status_code=303)
    set_flash(response, ctx.request, "Experiment added: record observations to get a verdict.")
    return response


@router.get("/experiments")
def experiment_list(ctx: SignedIn) -> Response:
    experiments = list_experiments(ctx.session, viewer=ctx.viewer)
    rows = [
        (e, experiment_verdict(e).value, get_action(ctx.session, e.action_id, viewer=ctx.viewer))
        for e in reversed(experiments)
    ]
    return ctx.page("experiments/list.html", nav="experiments", rows=rows)


def _experiment_page(ctx: Ctx, experiment_id: int, form: PageForm, *, status_code: int = 200) -> Response:
    experiment = get_experiment(ctx.session, experiment_id, viewer=ctx.viewer)
    action = get_action(ctx.session, experiment.action_id, viewer=ctx.viewer)
    failure = get_visible_failure(ctx.session, action.failure_id, ctx.viewer)
    ordered = sorted(experiment.observations, key=lambda o: (o.observed_at, o.id))
    chart = observations_chart(
        [(o.observed_at.strftime("%Y-%m-%d"), o.value) for o in ordered],
        comparator=experiment.comparator,
        threshold=experiment.threshold,
        metric=experiment.metric,
    )
    return ctx.page(
        "experiments/show.html",
        nav="experiments",
        status_code=status_code,
        experiment=experiment,
        observations=ordered,
        verdict=experiment_verdict(experiment).value,
        action=action,
        failure=failure,
        can_run=can_work_on_action(ctx.viewer, action, failure),
        chart=markup(chart) if ordered else None,
        form=form,
    )


@router.get("/experiments/{experiment_id}")
def experiment_show(ctx: SignedIn, experiment_id: int) -> Response:
    return _experiment_page(ctx, experiment_id, PageForm(OBSERVATION_FIELDS))


@router.post("/experiments/{experiment_id}/observations")
def experiment_observe(ctx: SignedIn, experiment_id: int, data: Form) -> Response:
    form = PageForm.posted(data, OBSERVATION_FIELDS)
    with form.attempt(ctx.session):
        record_observation(
            ctx.session,
            experiment_id,
            value=form.text("value"),
            observed_at=form.text("observed_at") or None,
            note=form.text("note"),
            viewer=ctx.viewer,
        )
        verdict = experiment_verdict(get_experiment(ctx.session, experiment_id, viewer=ctx.viewer)).value
    if not form.ok:
        return _experiment_page(ctx, experiment_id, form, status_code=422)
    response = RedirectResponse(f"/experiments/{experiment_id}", status_code=303)
    set_flash(response, ctx.request, f"Observation recorded. Verdict: {verdict}.")
    return response
