"""The dashboard and search across everything one may see."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from lessonloop.actions.models import Action
from lessonloop.actions.service import get_action, list_actions
from lessonloop.failures.service import list_failures
from lessonloop.lessons.service import list_lessons
from lessonloop.reviews.service import get_review
from lessonloop.search.service import search
from lessonloop.signals.metrics import compute_metrics
from lessonloop.web.charts import drift_points, line_chart, monthly_totals, repeat_rate_points
from lessonloop.web.context import Ctx, SignedIn, WebRoute
from lessonloop.web.render import markup

router = APIRouter(route_class=WebRoute)


def metric_charts(
    ctx: Ctx, *, team_id: int | None = None, result: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Repeat rate and action drift per month, over what the viewer may see (``result``: metrics
    already computed for this viewer, so a page that shows both does not compute them twice)."""
    today = dt.date.today()
    if result is None:
        result = compute_metrics(ctx.session, team_id=team_id, today=today, viewer=ctx.viewer)
    totals = monthly_totals(result, today=today, months=12)
    return {
        "repeat_chart": markup(
            line_chart(
                repeat_rate_points(totals),
                title="Repeat rate per month",
                description="Share of the failures detected each month that repeat an earlier one "
                "(lower is better).",
                css_class="chart-repeat",
            )
        ),
        "drift_chart": markup(
            line_chart(
                drift_points(totals),
                title="Action drift per month",
                description="Share of the actions due each month that were overdue on some day: closed "
                "(done or dropped) after their due date, or still overdue (lower is better).",
                css_class="chart-drift",
            )
        ),
        "chart_rows": totals,
        "metric_totals": result["totals"],
    }


@router.get("/")
def dashboard(ctx: SignedIn) -> Response:
    s, v, me = ctx.session, ctx.viewer, ctx.person
    today = dt.date.today()
    my_open = list_actions(s, owner=me.id, status="open", page_size=100, viewer=v).items
    overdue: dict[int, Action] = {}
    for team_id in v.teams():
        for action in list_actions(s, team=team_id, overdue=True, today=today, page_size=200, viewer=v).items:
            overdue[action.id] = action
    awaiting = list_failures(s, status="observed", page_size=10, viewer=v)
    drafting = list_failures(s, status="in-review", page_size=10, viewer=v)
    lessons = list_lessons(s, published=True, page_size=5, viewer=v).items
    return ctx.page(
        "dashboard.html",
        nav="home",
        my_open=my_open,
        overdue=sorted(overdue.values(), key=lambda a: (a.due_date, a.id)),
        awaiting=awaiting,
        drafting=drafting,
        lessons=lessons,
        **metric_charts(ctx),
    )


@dataclass(frozen=True)
class Result:
    kind: str
    title: str
    snippet: str
    href: str | None


@router.get("/search")
def search_page(ctx: SignedIn, q: str = "") -> Response:
    results: list[Result] = []
    query = q.strip()[:200]
    if query:
        for hit in search(ctx.session, query, limit=40, viewer=ctx.viewer):
            href: str | None = None
            if hit.kind == "failure":
                href = f"/failures/{hit.record_id}"
            elif hit.kind == "review":
                href = (
                    f"/failures/{get_review(ctx.session, hit.record_id, viewer=ctx.viewer).failure_id}#review"
                )
            elif hit.kind == "action":
                action = get_action(ctx.session, hit.record_id, viewer=ctx.viewer)
                href = f"/failures/{action.failure_id}#action-{action.id}"
            elif hit.kind == "lesson":
                href = f"/lessons/{hit.record_id}"
            results.append(Result(hit.kind, hit.title, hit.snippet, href))
    return ctx.page("search.html", nav="search", q=query, results=results)
