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
    # The coach's optional fine-tuned model (decision 66, the ``semantic`` extra): the path of the
    # weights ``bench/coach_finetune.py --save`` wrote; empty: the shipped linear model decides.
    coach_model: str = ""
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
    # The Slack app (lessonloop.integrations.slack): mounted only when both the signing secret
    # and the bot token are set. ``slack_api_url`` is slack_sdk's base_url (a stand-in in tests);
    # ``slack_public_url`` is where people open lessonloop, for links in Slack messages.
    slack_signing_secret: str = ""
    slack_bot_token: str = ""
    slack_api_url: str = "https://slack.com/api/"
    slack_public_url: str = ""
    # --- integrations: trackers ---
    # Issue-tracker sync (lessonloop.integrations.trackers): where people open lessonloop (the
    # link back in each issue), how long a worker holds a push (an HTTP call to the tracker is cut
    # off well before: half of it, at most ``tracker_timeout_seconds``), how often an issue's state
    # is re-read, and how many failed attempts make a push "failed".
    tracker_public_url: str = ""
    tracker_lease_seconds: float = 300.0
    tracker_timeout_seconds: float = 30.0
    tracker_reconcile_minutes: float = 15.0
    tracker_max_attempts: int = 8
    # --- integrations: sso ---
    # OpenID Connect sign-in (docs/integrations.md): on when the issuer and the client id are set.
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    # The app's public address (https://lessonloop.example.com) the provider sends people back to;
    # empty: the address the request came in on.
    oidc_redirect_base: str = ""
    oidc_provider_name: str = ""  # the button's "Sign in with …"; empty: the issuer's host
    # Just-in-time people: a verified e-mail nobody has becomes a new person (off by default),
    # joining ``oidc_jit_team`` (optional) with ``oidc_jit_role``.
    oidc_jit: bool = False
    oidc_jit_team: str = ""
    oidc_jit_role: str = "member"
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
        coach_model=env.get("LESSONLOOP_COACH_MODEL", "").strip(),
        api_cache=env.get("LESSONLOOP_API_CACHE", "1").strip().lower() not in {"0", "false", "no", "off"},
        server_timing=env.get("LESSONLOOP_SERVER_TIMING", "").strip().lower() in {"1", "true", "yes", "on"},
        webhook_allow_hosts=webhook_allow_hosts(env),
        trusted_proxies=trusted_proxies(env),
        # --- integrations: slack ---
        slack_signing_secret=env.get("LESSONLOOP_SLACK_SIGNING_SECRET", "").strip(),
        slack_bot_token=env.get("LESSONLOOP_SLACK_BOT_TOKEN", "").strip(),
        slack_api_url=env.get("LESSONLOOP_SLACK_API_URL", "").strip() or "https://slack.com/api/",
        slack_public_url=env.get("LESSONLOOP_SLACK_PUBLIC_URL", "").strip().rstrip("/"),
        # --- integrations: trackers ---
        tracker_public_url=env.get("LESSONLOOP_TRACKER_PUBLIC_URL", "").strip().rstrip("/"),
        tracker_lease_seconds=float(env.get("LESSONLOOP_TRACKER_LEASE_SECONDS", "300")),
        tracker_timeout_seconds=float(env.get("LESSONLOOP_TRACKER_TIMEOUT", "30")),
        tracker_reconcile_minutes=float(env.get("LESSONLOOP_TRACKER_RECONCILE_MINUTES", "15")),
        tracker_max_attempts=int(env.get("LESSONLOOP_TRACKER_MAX_ATTEMPTS", "8")),
        # --- integrations: sso ---
        oidc_issuer=env.get("LESSONLOOP_OIDC_ISSUER", "").strip().rstrip("/"),
        oidc_client_id=env.get("LESSONLOOP_OIDC_CLIENT_ID", "").strip(),
        oidc_client_secret=env.get("LESSONLOOP_OIDC_CLIENT_SECRET", ""),
        oidc_redirect_base=env.get("LESSONLOOP_OIDC_REDIRECT_BASE", "").strip().rstrip("/"),
        oidc_provider_name=env.get("LESSONLOOP_OIDC_PROVIDER_NAME", "").strip(),
        oidc_jit=env.get("LESSONLOOP_OIDC_JIT", "").strip().lower() in {"1", "true", "yes", "on"},
        oidc_jit_team=env.get("LESSONLOOP_OIDC_JIT_TEAM", "").strip(),
        oidc_jit_role=env.get("LESSONLOOP_OIDC_JIT_ROLE", "member").strip().lower() or "member",
        # --- integrations: chat notifications and event webhooks ---
    )


def trusted_proxies(env: dict[str, str]) -> tuple[str, ...]:
    """``LESSONLOOP_TRUSTED_PROXIES``, e.g. ``127.0.0.1,10.0.0.0/8``; checked now, so a typo fails
    at start-up rather than silently trusting nobody (accounts/throttle.py)."""
    from lessonloop.accounts.throttle import parse_proxies

    entries = tuple(p.strip() for p in env.get("LESSONLOOP_TRUSTED_PROXIES", "").split(",") if p.strip())
    parse_proxies(entries)
    return entries
