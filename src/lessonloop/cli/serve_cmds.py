"""`lessonloop serve`: the web app and API on one address (used by `make run`)."""

from __future__ import annotations

import importlib
import os
import sys
import threading
from collections.abc import Callable
from typing import Any

import typer
from sqlalchemy.engine import make_url

from lessonloop import gc_tuning, malloc_tuning
from lessonloop.cli import common, render
from lessonloop.cli.app import app
from lessonloop.notifications.config import WorkerConfig
from lessonloop.settings import get_settings


def _address(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host
    if ":" in shown:  # an IPv6 literal
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # a malformed URL fails later with its own message
        return url


def _module(name: str) -> Any:
    """Import lazily: the web app and the demo are heavy, and every other command skips them."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        raise common.fail(f"serve: {name} is not installed in this build") from None


SHUTDOWN_GRACE_SECONDS = 5
"""On SIGTERM or Ctrl+C, how long requests in progress may take to finish before the server
stops anyway (uvicorn's default is to wait for ever, so one slow client kept it running)."""


def run_server(application: Any, host: str, port: int, on_ready: Callable[[], None]) -> None:
    """Run uvicorn until Ctrl+C or SIGTERM; ``on_ready`` runs once the socket is listening."""
    import uvicorn

    class _Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if not self.should_exit:
                gc_tuning.install()  # the server's collector schedule (decision 63)
                on_ready()

    config = uvicorn.Config(
        application,
        host=host,
        port=port,
        log_level="info",
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
        # uvicorn trusts X-Forwarded-For/-Proto from 127.0.0.1 by default, so any local process
        # could choose its client address (and dodge the sign-in throttle): configured proxies only.
        forwarded_allow_ips=list(get_settings().trusted_proxies),
    )
    server = _Server(config)
    try:
        server.run()
    except SystemExit as exc:  # uvicorn exits when it cannot bind or start the app
        if exc.code not in (0, None):
            raise common.fail(
                f"port: could not serve on {host}:{port} (in use? see the message above)"
            ) from None
    except KeyboardInterrupt:  # uvicorn has shut down and passes Ctrl+C on
        _leave_busy_threads(code=130)
        raise
    finally:
        gc_tuning.uninstall()  # a server run inside another process (tests) leaves it as it was
    # After SIGTERM uvicorn re-raises the signal once it has shut down: the process ends there.


def _leave_busy_threads(code: int) -> None:
    """Exit now if a request is still running on a worker thread after the grace period.

    uvicorn cancels the request's task, but a sync endpoint's thread cannot be cancelled, and
    Python waits for such (non-daemon) threads before the process ends: a request busy for
    minutes would keep a stopped server alive. The database was closed by the app's shutdown.
    """
    main = threading.main_thread()
    busy = [t for t in threading.enumerate() if t is not main and not t.daemon and t.is_alive()]
    if busy:
        render.hint(f"stopping with {len(busy)} request thread(s) still busy")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


@app.command("serve")
@common.handle_errors
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0: every interface)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    demo_if_empty: bool = typer.Option(
        False, "--demo-if-empty", help="Load the demo workspace first when the database is empty."
    ),
    no_worker: bool = typer.Option(
        False,
        "--no-worker",
        help="Do not run the worker's schedule in this process (when a separate `lessonloop worker` runs).",
    ),
) -> None:
    """Serve the web app and the API; unless --no-worker, also run the worker's schedule
    (reminders, prompts, digests, escalation notices, deliveries) in this process."""
    settings = common.settings()
    logins: list[tuple[str, str]] = []
    demo_password = ""
    if demo_if_empty:
        demo = _module("lessonloop.demo")
        with common.unit() as session:
            loaded = bool(demo.workspace_is_empty(session))
            summary: Any = demo.build_demo(session) if loaded else None
        if loaded:
            counts = summary.as_dict() if hasattr(summary, "as_dict") else {}
            detail = ", ".join(f"{n} {name}" for name, n in counts.items())
            render.say("the workspace was empty: loaded the demo data" + (f" ({detail})" if detail else ""))
        if hasattr(demo, "demo_logins"):
            with common.unit() as session:
                logins = list(demo.demo_logins(session))
            demo_password = str(getattr(demo, "DEMO_PASSWORD", ""))
    malloc_tuning.install()  # large freed arrays go back to the system (decision 73)
    application = _module("lessonloop.app").create_app(settings, run_worker=not no_worker)
    common.reset()  # the app opens its own engine; do not keep the CLI's pool open while serving
    address = _address(host, port)

    def ready() -> None:
        render.say(f"lessonloop is running at {address} (database {_safe_url(settings.database_url)})")
        if logins:
            render.say(f"demo sign-in: any handle below, password {demo_password!r} (demo data only)")
            for handle, roles in logins:
                render.say(f"  {handle:<8} {roles}")
        if no_worker:
            render.hint(
                "worker: off here (--no-worker); run `lessonloop worker` for reminders and deliveries"
            )
        else:
            interval = WorkerConfig.from_env().interval_seconds
            render.say(
                f"worker: running in this process every {interval:g}s (reminders, digests, deliveries)"
            )
        if host in {"0.0.0.0", "::"}:
            render.hint(f"listening on every interface ({host}:{port})")
        render.hint("press Ctrl+C to stop")

    run_server(application, host, port, ready)
