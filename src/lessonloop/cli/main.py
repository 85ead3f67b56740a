"""The `lessonloop` command. Each module below registers its own commands on :data:`app`."""

from __future__ import annotations

from lessonloop.cli.app import app

__all__ = ["app", "main"]


def _register() -> None:
    # Imported for their side effect of adding commands; each module owns one area.
    import importlib

    for name in (
        "db_cmds",
        "people_cmds",
        "auth_cmds",
        "loop_cmds",
        "review_template_cmds",
        "portability_cmds",
        "signals_cmds",
        "insight_cmds",
        "serve_cmds",
        "worker_cmds",
        "followthrough_cmds",
        "discussion_cmds",
        "remote_cmds",
        "slack_cmds",
        "sso_cmds",
    ):
        try:
            importlib.import_module(f"lessonloop.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"lessonloop.cli.{name}":
                raise
    # Integrations own their commands in their packages.
    importlib.import_module("lessonloop.integrations.trackers.cli")
    importlib.import_module("lessonloop.integrations.webhooks.cli")


def main() -> None:
    _register()
    app()


_register()
