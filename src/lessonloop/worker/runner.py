"""One pass of the worker, and the loop around it.

A pass (:func:`run_once`) has two phases:

1. **jobs** — every registered job runs in its own transaction with the injected ``now``; a
   daily/weekly job records its period in ``worker_job_runs`` in that same transaction. A job
   that raises is rolled back, reported, and tried again on the next pass; the others go on.
2. **deliveries** — batches are claimed (a short transaction that sets a lease), each delivery
   is sent, and its outcome is recorded in its own transaction right after: ``sent``, or a retry
   time with exponential backoff, or ``dead`` after ``max_attempts``.

Nothing sleeps inside a pass and ``now`` is a parameter, so tests drive time by hand.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from lessonloop.notifications import service as outbox
from lessonloop.notifications.channels import SENDERS, Sender
from lessonloop.notifications.config import WorkerConfig
from lessonloop.notifications.models import Delivery
from lessonloop.store.base import utcnow
from lessonloop.store.engine import Database
from lessonloop.worker.models import JobRun
from lessonloop.worker.scheduler import Job, JobContext, load_jobs, period_of

log = logging.getLogger("lessonloop.worker")

Clock = Callable[[], dt.datetime]


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class PassReport:
    jobs: dict[str, str] = field(default_factory=dict)  # job → summary, "skipped" or "error: …"
    sent: int = 0
    retried: int = 0
    dead: int = 0

    def lines(self) -> list[str]:
        out = [f"{name}: {summary}" for name, summary in self.jobs.items()]
        out.append(f"deliveries: {self.sent} sent, {self.retried} to retry, {self.dead} dead")
        return out


def run_jobs(
    db: Database, *, now: dt.datetime, config: WorkerConfig, only: set[str] | None = None
) -> dict[str, str]:
    results: dict[str, str] = {}
    for name, job in sorted(load_jobs(config.job_modules).items()):
        if only is not None and name not in only:
            continue
        results[name] = _run_job(db, job, now=now, config=config)
    return results


def _run_job(db: Database, job: Job, *, now: dt.datetime, config: WorkerConfig) -> str:
    period = period_of(job.every, now)
    try:
        with db.unit(actor="worker") as session:
            if job.every != "tick":
                done = session.scalar(
                    select(JobRun.id).where(JobRun.job == job.name, JobRun.period == period)
                )
                if done is not None:
                    return "skipped (already ran this period)"
            ctx = JobContext(session=session, now=now, config=config, settings=db.settings, period=period)
            summary = job.func(ctx) or "done"
            if job.every != "tick":
                session.add(JobRun(job=job.name, period=period, finished_at=now, summary=summary[:2000]))
                session.flush()
            return summary
    except IntegrityError:
        # Another worker finished the same period (or proposed the same item) first; its work
        # stands, ours was rolled back. The next pass will see it.
        return "skipped (another worker ran it)"
    except Exception as exc:
        log.exception("job %s failed", job.name)
        return f"error: {type(exc).__name__}: {exc}"


def deliver(
    db: Database,
    *,
    now: dt.datetime,
    config: WorkerConfig,
    worker_id: str,
    senders: Mapping[str, Sender] | None = None,
    max_batches: int | None = None,
    report: PassReport | None = None,
    after_send: Callable[[Delivery], None] | None = None,
) -> PassReport:
    """Send every due delivery, batch by batch, recording each outcome as soon as it is known.

    ``after_send`` is a test seam called between a successful send and recording it.
    """
    senders = senders or SENDERS
    report = report or PassReport()
    with db.unit(actor="worker") as session:
        report.dead += outbox.bury_abandoned(session, now=now, max_attempts=config.max_attempts)
    batches = 0
    while max_batches is None or batches < max_batches:
        batches += 1
        with db.unit(actor="worker") as session:
            ids = outbox.claim(session, worker_id=worker_id, now=now, config=config)
        if not ids:
            break
        for delivery_id in ids:
            # Read, send with no transaction open, then record the outcome in its own transaction.
            with db.unit(actor="worker") as session:
                delivery = session.get(Delivery, delivery_id)
            if delivery is None:
                continue
            sender = senders.get(delivery.channel)
            error = None
            try:
                if sender is None:
                    raise RuntimeError(f"no sender for channel {delivery.channel!r}")
                sender(delivery, config)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
            if error is None and after_send is not None:
                after_send(delivery)
            with db.unit(actor="worker") as session:
                if error is None:
                    if outbox.mark_sent(session, delivery_id, worker_id=worker_id, now=now):
                        report.sent += 1
                    continue
                status = outbox.mark_failed(
                    session, delivery_id, worker_id=worker_id, now=now, error=error, config=config
                )
            if status == "dead":
                report.dead += 1
                log.warning("delivery %s is dead: %s", delivery_id, error)
            elif status is not None:
                report.retried += 1
    return report


def run_once(
    db: Database,
    *,
    now: dt.datetime | None = None,
    config: WorkerConfig | None = None,
    worker_id: str | None = None,
    senders: Mapping[str, Sender] | None = None,
    only_jobs: set[str] | None = None,
) -> PassReport:
    """One full pass: every job, then every due delivery."""
    now = now or utcnow()
    config = config or WorkerConfig.from_env()
    report = PassReport(jobs=run_jobs(db, now=now, config=config, only=only_jobs))
    return deliver(
        db, now=now, config=config, worker_id=worker_id or new_worker_id(), senders=senders, report=report
    )


def run_forever(
    db: Database,
    *,
    config: WorkerConfig,
    interval: float | None = None,
    clock: Clock = utcnow,
    stop: threading.Event | None = None,
    on_pass: Callable[[PassReport], None] | None = None,
    only_jobs: set[str] | None = None,
) -> None:
    """Pass after pass until SIGTERM/SIGINT (or ``stop`` is set). A pass is never cut short by
    a signal; the loop ends between passes."""
    stop = stop or threading.Event()
    worker_id = new_worker_id()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    wait = config.interval_seconds if interval is None else interval
    while not stop.is_set():
        started = time.monotonic()
        try:
            report = run_once(db, now=clock(), config=config, worker_id=worker_id, only_jobs=only_jobs)
            if on_pass is not None:
                on_pass(report)
        except Exception:  # a lost database connection must not end the worker
            log.exception("worker pass failed")
        stop.wait(max(0.0, wait - (time.monotonic() - started)))
