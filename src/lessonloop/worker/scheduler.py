"""The job registry: what the worker runs on each pass, and how often.

Register a job with the decorator — anywhere, as long as its module is imported by the worker
(list it in :data:`JOB_MODULES`, or in ``LESSONLOOP_WORKER_JOB_MODULES``)::

    from lessonloop.worker.scheduler import JobContext, job
    from lessonloop.notifications import service as notifications

    @job("weekly-digests", every="weekly", description="Each team's week in one message")
    def weekly_digests(ctx: JobContext) -> str:
        for person_id, body in ...:
            notifications.enqueue(ctx.session, person_id=person_id, kind="digest",
                                  subject="Your week", body_text=body,
                                  dedupe_key=f"digest:person:{person_id}:{ctx.period}", now=ctx.now)
        return "3 digests"

A job gets a :class:`JobContext` (the session of its own transaction, the injected ``now``, the
worker config) and returns a short summary. It must be idempotent: enqueue with a
``dedupe_key`` naming the event. ``every``:

* ``"tick"`` — every pass (triggers are found by date; keys make repeats no-ops);
* ``"daily"`` / ``"weekly"`` — once per UTC day / ISO week: the run is recorded in
  ``worker_job_runs`` in the same transaction as the job's work, so it happens once even with
  several workers or a restart (a crashed run left nothing and runs again).
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session

from lessonloop.access.actor import SystemActor
from lessonloop.notifications.config import WorkerConfig
from lessonloop.settings import Settings

Every = Literal["tick", "daily", "weekly"]

# Modules imported before each run for their @job registrations. A name that does not exist
# (yet) is skipped, so a package can be listed before it lands.
JOB_MODULES: list[str] = [
    "lessonloop.worker.jobs",
    "lessonloop.followthrough.guardrails",
    "lessonloop.followthrough.digests",
    "lessonloop.followthrough.recognition",
    "lessonloop.followthrough.checklists",
    "lessonloop.integrations.slack.posts",
    "lessonloop.integrations.trackers.jobs",
]


@dataclass
class JobContext:
    session: Session
    now: dt.datetime
    config: WorkerConfig
    settings: Settings
    period: str  # "2026-05-04" (tick, daily) or "2026-W19" (weekly)
    #: Who the job acts as: a system actor named for the job. A job that builds something for a
    #: person (a digest, a reminder's text) reads it as that person's Viewer instead.
    actor: SystemActor

    @property
    def today(self) -> dt.date:
        return self.now.date()


JobFunc = Callable[[JobContext], str | None]


@dataclass(frozen=True)
class Job:
    name: str
    func: JobFunc
    every: Every
    description: str


JOBS: dict[str, Job] = {}


def job(name: str, *, every: Every = "tick", description: str = "") -> Callable[[JobFunc], JobFunc]:
    """Register ``func`` as the job ``name`` (a later registration of the same name replaces it)."""
    if every not in ("tick", "daily", "weekly"):
        raise ValueError(f"every must be tick, daily or weekly, not {every!r}")

    def register(func: JobFunc) -> JobFunc:
        JOBS[name] = Job(name=name, func=func, every=every, description=description or (func.__doc__ or ""))
        return func

    return register


def period_of(every: Every, now: dt.datetime) -> str:
    if every == "weekly":
        year, week, _ = now.date().isocalendar()
        return f"{year}-W{week:02d}"
    return now.date().isoformat()


def load_jobs(extra: Iterable[str] = ()) -> dict[str, Job]:
    for name in [*JOB_MODULES, *extra]:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise
    return JOBS
