"""The dashboard and search across everything one may see."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from lessonloop.actions.service import list_actions
from lessonloop.failures.service import list_failures
from lessonloop.lessons.service import latest_lessons
from lessonloop.search.service import hit_failures, search
from lessonloop.signals.metrics import chart_metrics
from lessonloop.web.charts import drift_points, line_chart, monthly_totals, repeat_rate_points
from lessonloop.web.context import Ctx, SignedIn, WebRoute
from lessonloop.web.render import markup

router = APIRouter(route_class=WebRoute)

OVERDUE_SHOWN = 50  # overdue actions of my teams on the dashboard; all of them on the board


def metric_charts(
    ctx: Ctx, *, team_id: int | None = None, result: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Repeat rate and action drift per month, over what the viewer may see (``result``: metrics
    already computed for this viewer, so a page that shows both does not compute them twice;
    without one, only the charts' own counts for their 12 months are asked for)."""
    today = dt.date.today()
    if result is None:
        result = chart_metrics(ctx.session, team_id=team_id, today=today, months=12, viewer=ctx.viewer)
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
    teams = sorted(v.teams())
    # The earliest due overdue actions of all the viewer's teams, in one statement, with their
    # total; the rest are on the board ("My teams").
    overdue = (
        list_actions(s, team_ids=teams, overdue=True, today=today, page_size=OVERDUE_SHOWN, viewer=v)
        if teams
        else None
    )
    awaiting = list_failures(s, status="observed", page_size=10, viewer=v)
    drafting = list_failures(s, status="in-review", page_size=10, viewer=v)
    lessons = latest_lessons(s, limit=5, viewer=v)  # no total shown: none counted
    return ctx.page(
        "dashboard.html",
        nav="home",
        my_open=my_open,
        overdue=overdue.items if overdue else [],
        overdue_total=overdue.total if overdue else 0,
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
        hits = search(ctx.session, query, limit=40, viewer=ctx.viewer)
        failure_of = hit_failures(ctx.session, hits, viewer=ctx.viewer)  # one query per kind
        for hit in hits:
            href: str | None = None
            owner = failure_of.get((hit.kind, hit.record_id))
            if hit.kind == "failure":
                href = f"/failures/{hit.record_id}"
            elif hit.kind == "review" and owner is not None:
                href = f"/failures/{owner}#review"
            elif hit.kind == "action" and owner is not None:
                href = f"/failures/{owner}#action-{hit.record_id}"
            elif hit.kind == "lesson":
                href = f"/lessons/{hit.record_id}"
            results.append(Result(hit.kind, hit.title, hit.snippet, href))
    return ctx.page("search.html", nav="search", q=query, results=results)
