"""Settings are read from the environment when asked for, never at import time.

Every entry point (CLI, app factory, worker, tests) calls :func:`get_settings` or builds a
:class:`Settings` itself, so tests can run several databases side by side in one process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

DEFAULT_DATABASE_URL = "sqlite:///./lessonloop.db"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    # Page size bounds for every list (API and CLI); a bound keeps one request from reading 100k rows.
    default_page_size: int = 50
    max_page_size: int = 500
    # Days between an action's due date and its review date when none is given.
    default_review_offset_days: int = 14
    echo_sql: bool = False
    # Escalation: the same cause label, failed assumption or team repeating this many times
    # within this many days opens an escalation (the seed's "escalate if patterns persist").
    escalation_threshold: int = 3
    escalation_window_days: int = 90
    # Optional semantic ranking (the ``semantic`` extra): store an embedding of every failure
    # written, so ``similar --semantic`` is current. Off by default: loading the model is slow.
    semantic: bool = False
    # Keep API list answers and token checks while the data is unchanged (api/cache.py).
    api_cache: bool = True
    # A Server-Timing header (queries per request, database and app time) on every answer, for
    # whoever measures the server (bench/pages.py); off by default (server_timing.py says why).
    server_timing: bool = False
    # Webhook targets allowed although not public (loopback, private, link-local …): host names,
    # addresses or networks. Empty by default: a person's webhook cannot reach the inside.
    webhook_allow_hosts: tuple[str, ...] = ()
    # Proxies (addresses or CIDR blocks) whose X-Forwarded-For names the client; none by default.
    trusted_proxies: tuple[str, ...] = ()
    # --- integrations (issue #14, docs/integrations.md): slack ---
    # --- integrations: trackers ---
    # --- integrations: sso ---
    # --- integrations: chat notifications and event webhooks ---
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def webhook_allow_hosts(env: dict[str, str]) -> tuple[str, ...]:
    """``LESSONLOOP_WEBHOOK_ALLOW_HOSTS``, e.g. ``hooks.intranet,10.1.2.3,192.168.5.0/24``."""
    raw = env.get("LESSONLOOP_WEBHOOK_ALLOW_HOSTS", "")
    return tuple(p.strip() for p in raw.split(",") if p.strip())


def get_settings(env: dict[str, str] | None = None) -> Settings:
    """Build settings from ``env`` (defaults to ``os.environ``)."""
    env = dict(os.environ if env is None else env)
    return Settings(
        database_url=env.get("LESSONLOOP_DATABASE_URL", DEFAULT_DATABASE_URL),
        default_review_offset_days=int(env.get("LESSONLOOP_REVIEW_OFFSET_DAYS", "14")),
        echo_sql=env.get("LESSONLOOP_ECHO_SQL", "") in {"1", "true", "yes"},
        escalation_threshold=int(env.get("LESSONLOOP_ESCALATION_THRESHOLD", "3")),
        escalation_window_days=int(env.get("LESSONLOOP_ESCALATION_WINDOW_DAYS", "90")),
        semantic=env.get("LESSONLOOP_SEMANTIC", "") in {"1", "true", "yes"},
        api_cache=env.get("LESSONLOOP_API_CACHE", "1").strip().lower() not in {"0", "false", "no", "off"},
        server_timing=env.get("LESSONLOOP_SERVER_TIMING", "").strip().lower() in {"1", "true", "yes", "on"},
        webhook_allow_hosts=webhook_allow_hosts(env),
        trusted_proxies=trusted_proxies(env),
        # --- integrations: slack ---
        # --- integrations: trackers ---
        # --- integrations: sso ---
        # --- integrations: chat notifications and event webhooks ---
    )


def trusted_proxies(env: dict[str, str]) -> tuple[str, ...]:
    """``LESSONLOOP_TRUSTED_PROXIES``, e.g. ``127.0.0.1,10.0.0.0/8``; checked now, so a typo fails
    at start-up rather than silently trusting nobody (accounts/throttle.py)."""
    from lessonloop.accounts.throttle import parse_proxies

    entries = tuple(p.strip() for p in env.get("LESSONLOOP_TRUSTED_PROXIES", "").split(",") if p.strip())
    parse_proxies(entries)
    return entries
