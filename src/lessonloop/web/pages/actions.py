"""Act: the action board by owner (overdue first), one-click done with evidence, "did this work?",
experiments.

"Did this work?" is offered on a card once the action is **done and its review date has come**
(to whoever may work on the action: its owner or someone who may change the failure). Before the
review date the change has not had time to show: a "yes" on the day it was finished would count
an untested fix as verified learning in the metrics. The worker asks on that same date. The
latest answer is shown on the card either way; the API accepts an answer at any time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from lessonloop.access.policy import can_work_on_action
from lessonloop.actions.models import Action
from lessonloop.actions.schemas import CompleteAction, DropAction
from lessonloop.actions.service import (
    actions_by_id,
    complete_action,
    done_actions_to_check,
    drop_action,
    get_action,
    latest_done_actions,
    list_actions,
)
from lessonloop.discussion.service import comments_section
from lessonloop.experiments.schemas import AddExperiment, RecordObservation
from lessonloop.experiments.service import (
    add_experiment,
    experiment_verdict,
    get_experiment,
    list_experiments,
    record_observation,
)
from lessonloop.failures.models import Failure
from lessonloop.failures.service import get_visible_failure, visible_failures_by_id
from lessonloop.fields import parse_command
from lessonloop.integrations.trackers.service import tracker_section
from lessonloop.people.models import Person
from lessonloop.people.service import people_names
from lessonloop.web.charts import observations_chart
from lessonloop.web.context import Ctx, Form, SignedIn, WebRoute, safe_next
from lessonloop.web.forms import Form as PageForm
from lessonloop.web.pages.experiment_forms import experiment_edit_form, observation_edit_form
from lessonloop.web.pages.failures import EXPERIMENT_FIELDS, failure_page
from lessonloop.web.render import markup, set_flash
from lessonloop.worker.checks import checks_for, latest_checks, record_check
from lessonloop.worker.models import ActionCheck, Worked
from lessonloop.worker.schemas import AnswerCheck

router = APIRouter(route_class=WebRoute)

OBSERVATION_FIELDS = ("value", "observed_at", "note")
CHECK_FIELDS = ("worked", "note", "scope", "next")
CHECKS_ON_BOARD = 12
# "Did this work?" picks from this many done actions whose review date has come (the earliest
# due); loading every one of them cost more than the rest of the board.
CHECK_CANDIDATES = 120
BOARD_PAGE = 50  # open actions per board page: the earliest due, then "more"
WORKED = [(w.value, label) for w, label in zip(Worked, ("Yes", "No", "Partly"), strict=True)]


@dataclass
class Card:
    action: Action
    failure: Failure
    workable: bool
    error: str = ""
    evidence: str = ""
    check: ActionCheck | None = None  # the latest "did this work?" answer
    checked_by: str = ""
    check_form: PageForm = field(default_factory=lambda: PageForm(CHECK_FIELDS))

    @property
    def can_check(self) -> bool:
        """Offer "did this work?": done, its review date has come, and the viewer may answer."""
        return self.workable and self.action.status == "done" and self.action.review_date <= dt.date.today()


@dataclass
class Lane:
    owner: Person
    cards: list[Card] = field(default_factory=list)

    @property
    def overdue(self) -> int:
        today = dt.date.today()
        return sum(1 for c in self.cards if c.action.is_overdue(today))


def _card(
    ctx: Ctx,
    action: Action,
    *,
    error: str = "",
    evidence: str = "",
    check: ActionCheck | None = None,
    check_form: PageForm | None = None,
) -> Card:
    failure = get_visible_failure(ctx.session, action.failure_id, ctx.viewer)
    if check is None and action.status == "done":
        check = latest_checks(ctx.session, [action.id], viewer=ctx.viewer).get(action.id)
    by = ctx.session.get(Person, check.person_id) if check is not None and check.person_id else None
    return Card(
        action,
        failure,
        can_work_on_action(ctx.viewer, action, failure),
        error,
        evidence,
        check=check,
        checked_by=by.name if by is not None else "",
        check_form=check_form or PageForm(CHECK_FIELDS),
    )


def _cards(
    ctx: Ctx,
    actions: list[Action],
    *,
    errors: dict[int, tuple[str, str]] | None = None,
    checks: dict[int, ActionCheck] | None = None,
) -> list[Card]:
    """:func:`_card` for many actions with a fixed number of statements: their failures, the
    latest "did this work?" answers and who gave them are each read in one batch (a board of 500
    cards asked for them card by card: ~1,500 statements)."""
    s, v = ctx.session, ctx.viewer
    failures = visible_failures_by_id(s, {a.failure_id for a in actions}, viewer=v)
    if checks is None:
        checks = latest_checks(s, [a.id for a in actions if a.status == "done"], viewer=v)
    names = people_names(s, {c.person_id for c in checks.values() if c.person_id}, viewer=v)
    cards = []
    for action in actions:
        failure = failures.get(action.failure_id)
        if failure is None:  # listed as visible a moment ago: the same rule says no now
            continue
        error, evidence = (errors or {}).get(action.id, ("", ""))
        check = checks.get(action.id)
        cards.append(
            Card(
                action,
                failure,
                can_work_on_action(v, action, failure),
                error,
                evidence,
                check=check,
                checked_by=names.get(check.person_id, "") if check is not None and check.person_id else "",
            )
        )
    return cards


def _to_check(ctx: Ctx, scope: str) -> list[Card]:
    """Done actions whose review date has come and that the viewer may answer for, unanswered
    first, then the longest waiting, among the :data:`CHECK_CANDIDATES` earliest due."""
    done = done_actions_to_check(
        ctx.session,
        today=dt.date.today(),
        owner=ctx.person.id if scope == "mine" else None,
        limit=CHECK_CANDIDATES,
        viewer=ctx.viewer,
    )
    checks = latest_checks(ctx.session, [a.id for a in done], viewer=ctx.viewer)
    done.sort(key=lambda a: (a.id in checks, a.review_date, a.id))
    # Cards (and their failures) only for as many candidates as it takes to fill the section.
    cards: list[Card] = []
    for start in range(0, len(done), CHECKS_ON_BOARD * 4):
        chunk = done[start : start + CHECKS_ON_BOARD * 4]
        cards += [c for c in _cards(ctx, chunk, checks=checks) if c.workable]
        if len(cards) >= CHECKS_ON_BOARD:
            break
    return cards[:CHECKS_ON_BOARD]


def _board(
    ctx: Ctx,
    scope: str,
    *,
    page: int = 1,
    status_code: int = 200,
    errors: dict[int, tuple[str, str]] | None = None,
) -> Response:
    s, v = ctx.session, ctx.viewer
    if scope == "mine":
        owner, team_ids = ctx.person.id, None
    elif scope == "teams":
        owner, team_ids = None, sorted(v.teams())
    else:
        scope, owner, team_ids = "all", None, None
    # One page of the earliest due open actions (overdue ones come first that way), then "more".
    listed = list_actions(
        s, owner=owner, team_ids=team_ids, status="open", page=max(page, 1), page_size=BOARD_PAGE, viewer=v
    )
    lanes: dict[int, Lane] = {}
    for card in _cards(ctx, listed.items, errors=errors):
        lanes.setdefault(card.action.owner_id, Lane(card.action.owner)).cards.append(card)
    ordered = sorted(
        lanes.values(),
        key=lambda lane: (-lane.overdue, min(c.action.due_date for c in lane.cards), lane.owner.handle),
    )
    recent = latest_done_actions(s, limit=8, viewer=v)
    return ctx.page(
        "actions/board.html",
        nav="actions",
        status_code=status_code,
        lanes=ordered,
        scope=scope,
        total=listed.total,
        listed=listed,
        recent=recent,
        to_check=_to_check(ctx, scope),
        worked_options=WORKED,
    )


@router.get("/actions")
def action_board(ctx: SignedIn, scope: str = "all", page: int = 1) -> Response:
    return _board(ctx, scope, page=page)


def _back(ctx: Ctx, data_next: str, default: str) -> str:
    return safe_next(data_next, default)


@router.post("/actions/{action_id}/done")
def action_done(ctx: SignedIn, action_id: int, data: Form) -> Response:
    form = PageForm.posted(data, ("evidence", "done_at", "next", "scope"))
    with form.attempt(ctx.session):
        done = parse_command(
            CompleteAction, {"evidence": form.text("evidence"), "done_at": form.text("done_at")}
        )
        action = complete_action(ctx.session, action_id, **done.model_dump(), viewer=ctx.viewer)
    htmx = ctx.request.headers.get("hx-request") == "true"
    if not form.ok:
        message = form.error("evidence") or form.error("done_at") or form.message or "not done"
        if htmx:
            card = _card(ctx, get_action(ctx.session, action_id, viewer=ctx.viewer), error=message)
            return ctx.page("actions/_card.html", card=card, scope=form.text("scope"), worked_options=WORKED)
        return _board(
            ctx,
            form.text("scope") or "all",
            status_code=422,
            errors={action_id: (message, form.text("evidence"))},
        )
    if htmx:
        return ctx.page(
            "actions/_card.html", card=_card(ctx, action), scope=form.text("scope"), worked_options=WORKED
        )
    response = RedirectResponse(_back(ctx, form.text("next"), "/actions"), status_code=303)
    set_flash(response, ctx.request, f"Action {action.id} is done; the evidence is recorded.")
    return response


def _action_page(ctx: Ctx, action_id: int, *, status_code: int = 200, card: Card | None = None) -> Response:
    action = get_action(ctx.session, action_id, viewer=ctx.viewer)
    history = []
    for check in reversed(checks_for(ctx.session, action.id, viewer=ctx.viewer)):
        by = ctx.session.get(Person, check.person_id) if check.person_id else None
        history.append((check, by))
    return ctx.page(
        "actions/show.html",
        nav="actions",
        status_code=status_code,
        card=card or _card(ctx, action),
        history=history,
        scope="",
        comments=comments_section(ctx.session, target="action", target_id=action.id, viewer=ctx.viewer),
        worked_options=WORKED,
        tracker=tracker_section(ctx.session, action, viewer=ctx.viewer),
    )


@router.get("/actions/{action_id}")
def action_show(ctx: SignedIn, action_id: int) -> Response:
    return _action_page(ctx, action_id)


@router.post("/actions/{action_id}/check")
def action_check(ctx: SignedIn, action_id: int, data: Form) -> Response:
    """Record "did this work?" (the rule on who may answer is record_check's)."""
    form = PageForm.posted(data, CHECK_FIELDS)
    with form.attempt(ctx.session):
        command = parse_command(
            AnswerCheck, {"worked": form.text("worked") or None, "note": form.text("note")}
        )
        check = record_check(ctx.session, action_id, **command.model_dump(mode="json"), viewer=ctx.viewer)
    htmx = ctx.request.headers.get("hx-request") == "true"
    if not form.ok:
        card = _card(ctx, get_action(ctx.session, action_id, viewer=ctx.viewer), check_form=form)
        if htmx:
            return ctx.page("actions/_card.html", card=card, scope=form.text("scope"), worked_options=WORKED)
        return _action_page(ctx, action_id, status_code=422, card=card)
    action = get_action(ctx.session, action_id, viewer=ctx.viewer)
    if htmx:
        card = _card(ctx, action, check=check)
        return ctx.page("actions/_card.html", card=card, scope=form.text("scope"), worked_options=WORKED)
    response = RedirectResponse(_back(ctx, form.text("next"), f"/actions/{action_id}"), status_code=303)
    set_flash(response, ctx.request, f"Recorded: action {action_id} worked — {check.worked}.")
    return response


@router.post("/actions/{action_id}/drop")
def action_drop(ctx: SignedIn, action_id: int, data: Form) -> Response:
    form = PageForm.posted(data, ("reason", "next"))
    with form.attempt(ctx.session):
        command = parse_command(DropAction, {"reason": form.text("reason")})
        drop_action(ctx.session, action_id, **command.model_dump(), viewer=ctx.viewer)
    response = RedirectResponse(_back(ctx, form.text("next"), "/actions"), status_code=303)
    set_flash(
        response,
        ctx.request,
        f"Action {action_id} dropped." if form.ok else f"Not dropped: {form.error('reason') or form.message}",
    )
    return response


_EXPERIMENT_INPUTS = ("hypothesis", "metric", "comparator", "threshold", "start_date", "end_date")


@router.post("/actions/{action_id}/experiments")
def action_add_experiment(ctx: SignedIn, action_id: int, data: Form) -> Response:
    form = PageForm.posted(data, EXPERIMENT_FIELDS)
    with form.attempt(ctx.session):
        command = parse_command(
            AddExperiment,
            {"action_id": action_id, **{name: form.text(name) for name in _EXPERIMENT_INPUTS}},
        )
        experiment = add_experiment(ctx.session, **command.fields(), viewer=ctx.viewer)
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
    actions = actions_by_id(ctx.session, {e.action_id for e in experiments}, viewer=ctx.viewer)
    rows = [
        (e, experiment_verdict(e).value, actions[e.action_id])
        for e in reversed(experiments)
        if e.action_id in actions  # listed as visible a moment ago: the same rule
    ]
    return ctx.page("experiments/list.html", nav="experiments", rows=rows)


def _experiment_page(
    ctx: Ctx,
    experiment_id: int,
    form: PageForm,
    *,
    status_code: int = 200,
    edit_form: PageForm | None = None,
    observation_form: tuple[int, PageForm] | None = None,
) -> Response:
    """The experiment's page; ``edit_form`` / ``observation_form`` (an observation id and its
    form) bring back a refused correction with its errors (``web.pages.revising``)."""
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
        edit_form=edit_form or experiment_edit_form(experiment),
        observation_forms={
            o.id: observation_form[1]
            if observation_form is not None and observation_form[0] == o.id
            else observation_edit_form(o)
            for o in ordered
        },
        open_observation=observation_form[0] if observation_form is not None else None,
    )


@router.get("/experiments/{experiment_id}")
def experiment_show(ctx: SignedIn, experiment_id: int) -> Response:
    return _experiment_page(ctx, experiment_id, PageForm(OBSERVATION_FIELDS))


@router.post("/experiments/{experiment_id}/observations")
def experiment_observe(ctx: SignedIn, experiment_id: int, data: Form) -> Response:
    form = PageForm.posted(data, OBSERVATION_FIELDS)
    with form.attempt(ctx.session):
        command = parse_command(
            RecordObservation,
            {"value": form.text("value"), "observed_at": form.text("observed_at"), "note": form.text("note")},
        )
        record_observation(ctx.session, experiment_id, **command.model_dump(), viewer=ctx.viewer)
        verdict = experiment_verdict(get_experiment(ctx.session, experiment_id, viewer=ctx.viewer)).value
    if not form.ok:
        return _experiment_page(ctx, experiment_id, form, status_code=422)
    response = RedirectResponse(f"/experiments/{experiment_id}", status_code=303)
    set_flash(response, ctx.request, f"Observation recorded. Verdict: {verdict}.")
    return response
