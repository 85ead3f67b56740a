"""One pass of the worker, and the loop around it.

A pass (:func:`run_once`) has two phases:

1. **jobs** — every registered job runs in its own transaction with the injected ``now``; a
   daily/weekly job records its period in ``worker_job_runs`` in that same transaction. A job
   that raises is rolled back, reported, and tried again on the next pass; the others go on.
2. **deliveries** — up to ``send_threads`` deliveries are claimed at a time (a short
   transaction that gives each its own lease and fencing token) and sent in parallel; a
   heartbeat renews the held leases; each attempt starts with a fencing check that also counts
   it, and its outcome is recorded, fenced again, in its own transaction right after: ``sent``,
   or a retry time with exponential backoff, or ``dead`` after ``max_attempts``.

``now`` is a parameter (leases and due dates move on from it with the real time elapsed, or
with an injected clock), so tests drive time by hand.
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
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError

from lessonloop.access.actor import SystemActor
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

#: The outbox machinery (claim, send, record) acts as this job.
DELIVERY = SystemActor("delivery")


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
            ctx = JobContext(
                session=session,
                now=now,
                config=config,
                settings=db.settings,
                period=period,
                actor=SystemActor(job.name),
            )
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


RECORD_FIRST_DELAY_S = 0.05  # recording an outcome through a database outage: first wait …
RECORD_MAX_DELAY_S = 2.0  # … doubling up to this
POLL_S = 0.5  # while sends are in flight, look for newly due deliveries this often


def _transient(exc: BaseException) -> bool:
    """A lost or busy database connection (worth another try), not a bug."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def pass_clock(now: dt.datetime) -> Clock:
    """``now`` moving on with the real time elapsed since: leases and retries falling due during
    a long pass use the time that has really passed, while tests still inject ``now``. Whole
    seconds: what a short pass records (a retry time, a sent time) is exactly ``now``-based."""
    started = time.monotonic()
    return lambda: now + dt.timedelta(seconds=int(time.monotonic() - started))


class _Held:
    """The leases this worker holds. A lease is *started* once its attempt begins, or
    *released* when the worker stops first: never both (one lock decides)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._leases: dict[int, outbox.Lease] = {}
        self._started: set[int] = set()

    def add(self, lease: outbox.Lease) -> None:
        with self._lock:
            self._leases[lease.delivery_id] = lease

    def start(self, lease: outbox.Lease) -> bool:
        with self._lock:
            if self._leases.get(lease.delivery_id) != lease:
                return False
            self._started.add(lease.delivery_id)
            return True

    def drop(self, lease: outbox.Lease) -> None:
        with self._lock:
            self._leases.pop(lease.delivery_id, None)
            self._started.discard(lease.delivery_id)

    def unstarted(self) -> list[outbox.Lease]:
        """Take back every lease whose attempt has not begun (they will not begin)."""
        with self._lock:
            out = [lease for i, lease in self._leases.items() if i not in self._started]
            for lease in out:
                del self._leases[lease.delivery_id]
            return out

    def snapshot(self) -> list[outbox.Lease]:
        with self._lock:
            return list(self._leases.values())


class _Heartbeat:
    """Renews every held lease each ``every`` seconds while a pass runs, so a delivery that
    waits or sends longer than the lease is not taken over by another live worker."""

    def __init__(self, db: Database, held: _Held, config: WorkerConfig, clock: Clock, every: float) -> None:
        self._db, self._held, self._config, self._clock = db, held, config, clock
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-heartbeat", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            leases = self._held.snapshot()
            if not leases:
                continue
            try:
                with self._db.unit(actor="worker") as session:
                    outbox.renew(session, leases, now=self._clock(), config=self._config, viewer=DELIVERY)
            except Exception:  # the database is away: the next beat tries again
                log.warning("could not renew %d delivery leases", len(leases), exc_info=True)


@dataclass(frozen=True)
class _Outcome:
    status: str | None  # "sent", "pending" (to retry), "dead", or None: not ours any more
    error: str | None = None


def _send_one(
    db: Database,
    lease: outbox.Lease,
    *,
    config: WorkerConfig,
    senders: Mapping[str, Sender],
    clock: Clock,
    held: _Held,
    after_send: Callable[[Delivery], None] | None,
) -> _Outcome:
    """Fence, count the attempt, send with no transaction open, record the outcome."""
    try:
        if not held.start(lease):
            return _Outcome(None)  # released: the worker is stopping
        try:
            with db.unit(actor="worker") as session:
                delivery = outbox.begin_attempt(session, lease, now=clock(), config=config, viewer=DELIVERY)
        except Exception as exc:
            if not _transient(exc):
                raise
            log.warning("delivery %s: cannot start an attempt: %s", lease.delivery_id, exc)
            return _Outcome(None)  # nothing sent; the lease runs out and it is claimed again
        if delivery is None:
            return _Outcome(None)
        error = _attempt(delivery, config, senders)
        if error is None and after_send is not None:
            after_send(delivery)
        return _Outcome(_record(db, lease, error=error, config=config, clock=clock), error)
    finally:
        held.drop(lease)


def _attempt(delivery: Delivery, config: WorkerConfig, senders: Mapping[str, Sender]) -> str | None:
    sender = senders.get(delivery.channel)
    try:
        if sender is None:
            raise RuntimeError(f"no sender for channel {delivery.channel!r}")
        sender(delivery, config)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _record(
    db: Database, lease: outbox.Lease, *, error: str | None, config: WorkerConfig, clock: Clock
) -> str | None:
    """Record the outcome, trying again through a short database outage (backoff) for as long
    as the lease lasts; after that another worker may take the delivery over, and the fencing
    check in the recording transaction keeps a late record from overwriting its work."""
    give_up = time.monotonic() + config.lease_seconds
    delay = RECORD_FIRST_DELAY_S
    while True:
        try:
            with db.unit(actor="worker") as session:
                if error is None:
                    ok = outbox.mark_sent(session, lease, now=clock(), viewer=DELIVERY)
                    return "sent" if ok else None
                return outbox.mark_failed(
                    session, lease, now=clock(), error=error, config=config, viewer=DELIVERY
                )
        except Exception as exc:
            if not _transient(exc) or time.monotonic() + delay > give_up:
                raise
            log.warning("delivery %s: recording failed (%s); again in %.2fs", lease.delivery_id, exc, delay)
            time.sleep(delay)
            delay = min(delay * 2, RECORD_MAX_DELAY_S)


def deliver(
    db: Database,
    *,
    now: dt.datetime,
    config: WorkerConfig,
    worker_id: str,
    senders: Mapping[str, Sender] | None = None,
    report: PassReport | None = None,
    after_send: Callable[[Delivery], None] | None = None,
    clock: Clock | None = None,
    stop: threading.Event | None = None,
    heartbeat_seconds: float | None = None,
) -> PassReport:
    """Send every due delivery, ``config.send_threads`` at a time, recording each outcome as
    soon as it is known; a retry that falls due before the pass ends is sent in it.

    ``clock`` gives the time for leases and due dates (default: ``now`` plus the real time
    elapsed). ``stop`` (SIGTERM): claim nothing more, let in-flight sends finish for up to
    ``config.shutdown_grace_seconds``, hand back claims whose attempt never began.
    ``heartbeat_seconds``: how often held leases are renewed (default a third of the lease).
    ``after_send`` is a test seam called between a successful send and recording it.
    """
    senders = senders or SENDERS
    report = report or PassReport()
    clock = clock or pass_clock(now)
    stop = stop or threading.Event()
    with db.unit(actor="worker") as session:
        report.dead += outbox.bury_abandoned(
            session, now=clock(), max_attempts=config.max_attempts, viewer=DELIVERY
        )
    held = _Held()
    every = heartbeat_seconds if heartbeat_seconds is not None else config.lease_seconds / 3
    pool = ThreadPoolExecutor(max_workers=config.send_threads, thread_name_prefix="send")
    running: dict[Future[_Outcome], str] = {}  # send → its target
    with _Heartbeat(db, held, config, clock, every):
        try:
            while not stop.is_set():
                for lease in _claim_for_free_senders(db, running, held, config, worker_id, clock()):
                    future = pool.submit(
                        _send_one,
                        db,
                        lease,
                        config=config,
                        senders=senders,
                        clock=clock,
                        held=held,
                        after_send=after_send,
                    )
                    running[future] = lease.target
                if not running:
                    break  # nothing due and nothing in flight: the pass is over
                # Wake at the first finished send, or after a moment to claim what fell due.
                done, _ = wait(running, timeout=POLL_S, return_when=FIRST_COMPLETED)
                for future in done:
                    del running[future]
                    _count(report, future.result())
        finally:
            _wind_down(db, pool, set(running), held, report, config=config, clock=clock)
    return report


def per_target_limit(config: WorkerConfig) -> int:
    """Sends one receiver may have in flight from one worker: a quarter of the senders (one of
    the default four), so hanging receivers hold at most that much each and the others' sends
    keep going (a shared receiver is still served by every worker, one send at a time each)."""
    return max(1, config.send_threads // 4)


def _claim_for_free_senders(
    db: Database,
    running: Mapping[Future[_Outcome], str],
    held: _Held,
    config: WorkerConfig,
    worker_id: str,
    now: dt.datetime,
) -> list[outbox.Lease]:
    """Claim as many due deliveries as there are free senders, skipping receivers already at
    their limit. A claim beyond a receiver's limit is handed straight back and the free senders
    are offered the next receivers at once (each round skips one more busy receiver)."""
    limit = per_target_limit(config)
    busy = Counter(running.values())
    keep: list[outbox.Lease] = []
    for _ in range(config.send_threads):
        free = min(config.send_threads - len(running) - len(keep), config.batch_size)
        if free <= 0:
            break
        with db.unit(actor="worker") as session:
            leases = outbox.claim(
                session,
                worker_id=worker_id,
                now=now,
                config=config,
                limit=free,
                skip_targets=[t for t, n in busy.items() if n >= limit],
                viewer=DELIVERY,
            )
            handed_back = False
            for lease in leases:
                if busy[lease.target] >= limit:
                    outbox.release(session, lease, now=now, viewer=DELIVERY)
                    handed_back = True
                    continue
                busy[lease.target] += 1
                held.add(lease)
                keep.append(lease)
        if not handed_back:
            break
    return keep


def _count(report: PassReport, outcome: _Outcome) -> None:
    if outcome.status == "sent":
        report.sent += 1
    elif outcome.status == "dead":
        report.dead += 1
        log.warning("delivery is dead: %s", outcome.error)
    elif outcome.status == "pending":
        report.retried += 1


def _wind_down(
    db: Database,
    pool: ThreadPoolExecutor,
    running: set[Future[_Outcome]],
    held: _Held,
    report: PassReport,
    *,
    config: WorkerConfig,
    clock: Clock,
) -> None:
    """End a pass (or a stop): hand back unstarted claims, let in-flight sends finish within
    the grace period and count them."""
    for lease in held.unstarted():
        try:
            with db.unit(actor="worker") as session:
                outbox.release(session, lease, now=clock(), viewer=DELIVERY)
        except Exception:  # its lease simply runs out
            log.warning("could not release delivery %s", lease.delivery_id, exc_info=True)
    if running:
        done, late = wait(running, timeout=config.shutdown_grace_seconds)
        for future in done:
            if future.exception() is None:
                _count(report, future.result())
        if late:
            log.warning("%d sends still running after the grace period; their leases will lapse", len(late))
    pool.shutdown(wait=False, cancel_futures=True)


def run_once(
    db: Database,
    *,
    now: dt.datetime | None = None,
    config: WorkerConfig | None = None,
    worker_id: str | None = None,
    senders: Mapping[str, Sender] | None = None,
    only_jobs: set[str] | None = None,
    stop: threading.Event | None = None,
) -> PassReport:
    """One full pass: every job, then every due delivery (``stop``: see :func:`deliver`)."""
    now = now or utcnow()
    config = config or WorkerConfig.from_env()
    report = PassReport(jobs=run_jobs(db, now=now, config=config, only=only_jobs))
    return deliver(
        db,
        now=now,
        config=config,
        worker_id=worker_id or new_worker_id(),
        senders=senders,
        report=report,
        stop=stop,
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
    """Pass after pass until SIGTERM/SIGINT (or ``stop`` is set). On a stop the pass claims
    nothing more, lets its in-flight sends finish (``config.shutdown_grace_seconds``), hands
    back what it claimed but did not start, and the loop ends."""
    stop = stop or threading.Event()
    worker_id = new_worker_id()
    stop_on_signals(stop)
    wait = config.interval_seconds if interval is None else interval
    while not stop.is_set():
        started = time.monotonic()
        try:
            report = run_once(
                db, now=clock(), config=config, worker_id=worker_id, only_jobs=only_jobs, stop=stop
            )
            if on_pass is not None:
                on_pass(report)
        except Exception:  # a lost database connection must not end the worker
            log.exception("worker pass failed")
        stop.wait(max(0.0, wait - (time.monotonic() - started)))


def stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM and SIGINT set ``stop`` (from the main thread only, where handlers can be set)."""
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
