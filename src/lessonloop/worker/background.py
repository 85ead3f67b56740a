"""The worker's schedule inside the web server's process (``lessonloop serve`` without
``--no-worker``, so ``make run``).

A team on one server should not need a second command for reminders, review-date prompts,
digests, escalation notices and reflection invitations to go out. The passes are exactly those of
``lessonloop worker`` (:func:`lessonloop.worker.runner.run_forever`) on a thread of their own;
they are safe beside a separate worker too (daily and weekly jobs are recorded once, deliveries
are leased), but a team running several servers runs one ``lessonloop worker`` and starts the
servers with ``--no-worker`` so the servers spend their time on requests.
"""

from __future__ import annotations

import logging
import threading

from lessonloop.notifications.config import WorkerConfig
from lessonloop.store.base import utcnow
from lessonloop.store.engine import Database
from lessonloop.worker.runner import Clock, PassReport, run_forever

log = logging.getLogger(__name__)


class BackgroundWorker:
    """Runs worker passes on a daemon thread until :meth:`stop`.

    ``clock`` gives each pass its ``now`` (default: the real time); a test injects a fixed one
    and waits for the first pass with :meth:`wait_for_passes` — no sleeping, no wall clock.
    """

    def __init__(self, db: Database, config: WorkerConfig, *, clock: Clock = utcnow) -> None:
        self.config = config
        self.clock = clock
        self._stop = threading.Event()
        self._passed = threading.Condition()
        self.passes = 0  # finished passes (one that failed as a whole is not counted)
        self._thread = threading.Thread(target=self._run, args=(db,), name="lessonloop-worker", daemon=True)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> None:
        log.info("worker running in this process every %gs", self.config.interval_seconds)
        self._thread.start()

    def _run(self, db: Database) -> None:
        # run_forever installs no signal handlers off the main thread: the server owns SIGTERM
        # and stops us through the lifespan; a failing pass is logged and the next one runs.
        run_forever(db, config=self.config, clock=self.clock, stop=self._stop, on_pass=self._count)

    def _count(self, _report: PassReport) -> None:
        with self._passed:
            self.passes += 1
            self._passed.notify_all()

    def wait_for_passes(self, n: int = 1, timeout: float = 60.0) -> bool:
        """Block until ``n`` passes have finished (True) or ``timeout`` seconds went by (False)."""
        with self._passed:
            return self._passed.wait_for(lambda: self.passes >= n, timeout)

    def stop(self) -> bool:
        """Ask the passes to end (in-flight sends finish, unstarted claims go back) and wait up
        to the shutdown grace; True when the thread ended. A daemon thread never keeps a stopped
        server alive."""
        self._stop.set()
        if self._thread.ident is None:
            return True
        self._thread.join(self.config.shutdown_grace_seconds + 5.0)
        return not self._thread.is_alive()
