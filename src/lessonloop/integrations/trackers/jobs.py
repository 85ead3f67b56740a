"""The worker's tracker jobs (listed in :data:`lessonloop.worker.scheduler.JOB_MODULES`).

Both run every pass; each finds its own work (due pushes; links not checked for a while), so a
pass with nothing to do costs one query each.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from lessonloop.integrations.trackers.sync import Units, push_pending, reconcile
from lessonloop.worker.scheduler import JobContext, job


def _units(ctx: JobContext) -> Units:
    """Transactions of their own, from the same engine and session class (so with the same flush
    hooks: history, search) as the job's session — a job's one transaction cannot hold a claim that must
    be committed before the tracker is called."""
    bind = ctx.session.get_bind()
    cls = type(ctx.session)

    @contextmanager
    def unit() -> Iterator[Session]:
        own = cls(bind=bind, expire_on_commit=False, autoflush=True)
        own.info["actor"] = "worker"
        try:
            yield own
            own.commit()
        except BaseException:
            own.rollback()
            raise
        finally:
            own.close()

    return unit


@job("tracker-push", description="Push queued actions to their team's issue tracker (never twice)")
def tracker_push(ctx: JobContext) -> str:
    return push_pending(_units(ctx), ctx.settings, now=ctx.now)


@job("tracker-reconcile", description="Re-read linked issues' state; a closed issue asks for evidence")
def tracker_reconcile(ctx: JobContext) -> str:
    return reconcile(_units(ctx), ctx.settings, now=ctx.now)
