"""Settings of the worker and its channels, read from the environment when asked for.

They live here rather than in :mod:`lessonloop.settings` so the worker's knobs stay in one
place; like every setting they are read on demand (:meth:`WorkerConfig.from_env`), never at
import time.

=====================================  ==========  ==================================================
variable                               default     meaning
=====================================  ==========  ==================================================
LESSONLOOP_SMTP_HOST                   (unset)     SMTP server; unset = e-mail deliveries fail (and retry)
LESSONLOOP_SMTP_PORT                   25
LESSONLOOP_SMTP_FROM                   lessonloop@localhost
LESSONLOOP_SMTP_STARTTLS               false       upgrade the connection with STARTTLS
LESSONLOOP_SMTP_USER / _PASSWORD       (unset)     log in when both are set
LESSONLOOP_SMTP_TIMEOUT                10          seconds for a whole send (connect, conversation, answer)
LESSONLOOP_WEBHOOK_TIMEOUT             10          seconds for a whole send (resolve, connect, answer)
LESSONLOOP_WEBHOOK_ALLOW_HOSTS         (unset)     hosts/addresses/networks webhooks may reach despite
                                                   being loopback, private, link-local … (comma list)
LESSONLOOP_REMINDER_DAYS               3           days before due to remind (comma list, e.g. 7,1)
LESSONLOOP_OVERDUE_REPEAT_DAYS         7           remind again every N days while overdue (0 = once)
LESSONLOOP_CATCH_UP_DAYS               14          ignore triggers older than this (first run on old data)
LESSONLOOP_REFLECTION_SEVERITIES       high,critical
LESSONLOOP_REFLECTION_WITHIN_DAYS      7           propose a reflection session this many days after detection
LESSONLOOP_MAX_ATTEMPTS                5           failed sends before a delivery is dead
LESSONLOOP_RETRY_BASE_SECONDS          60          backoff: base * 2**(attempt-1), capped at 6 h
LESSONLOOP_LEASE_SECONDS               300         how long a claimed delivery is reserved for a worker
LESSONLOOP_WORKER_BATCH                50          most deliveries claimed at once (also capped by the senders)
LESSONLOOP_WORKER_SENDERS              4           sends in parallel (threads); one slow receiver holds one
LESSONLOOP_WORKER_SHUTDOWN_SECONDS     30          on SIGTERM, how long in-flight sends may still finish
LESSONLOOP_WORKER_INTERVAL             60          seconds between passes of `lessonloop worker`
LESSONLOOP_WORKER_JOB_MODULES          (unset)     extra modules to import for their @job registrations
LESSONLOOP_CALENDAR_BASE_URL           (unset)     prefix printed before /calendar/<token>.ics
=====================================  ==========  ==================================================
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from lessonloop.errors import Invalid
from lessonloop.settings import webhook_allow_hosts


@dataclass(frozen=True)
class SmtpConfig:
    host: str | None = None
    port: int = 25
    sender: str = "lessonloop@localhost"
    starttls: bool = False
    user: str | None = None
    password: str | None = None
    timeout: float = 10.0


@dataclass(frozen=True)
class WorkerConfig:
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    webhook_timeout: float = 10.0
    # Empty: webhooks reach public addresses only (see lessonloop.outbound).
    webhook_allow_hosts: tuple[str, ...] = ()
    reminder_days: tuple[int, ...] = (3,)
    overdue_repeat_days: int = 7
    catch_up_days: int = 14
    reflection_severities: tuple[str, ...] = ("high", "critical")
    reflection_within_days: int = 7
    max_attempts: int = 5
    retry_base_seconds: int = 60
    retry_cap_seconds: int = 6 * 3600
    lease_seconds: int = 300
    batch_size: int = 50
    send_threads: int = 4
    shutdown_grace_seconds: float = 30.0
    interval_seconds: float = 60.0
    job_modules: tuple[str, ...] = ()
    calendar_base_url: str = ""

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> WorkerConfig:
        e = dict(os.environ if env is None else env)

        def num(name: str, default: str) -> int:
            raw = e.get(name, default).strip()
            try:
                return int(raw)
            except ValueError:
                raise Invalid(f"is not a whole number: {raw!r}", field=name) from None

        def flag(name: str) -> bool:
            return e.get(name, "").strip().lower() in {"1", "true", "yes", "on"}

        def items(name: str, default: str) -> tuple[str, ...]:
            return tuple(p.strip() for p in e.get(name, default).split(",") if p.strip())

        days = tuple(
            sorted({num_item(d, "LESSONLOOP_REMINDER_DAYS") for d in items("LESSONLOOP_REMINDER_DAYS", "3")})
        )
        config = cls(
            smtp=SmtpConfig(
                host=e.get("LESSONLOOP_SMTP_HOST") or None,
                port=num("LESSONLOOP_SMTP_PORT", "25"),
                sender=e.get("LESSONLOOP_SMTP_FROM", "lessonloop@localhost"),
                starttls=flag("LESSONLOOP_SMTP_STARTTLS"),
                user=e.get("LESSONLOOP_SMTP_USER") or None,
                password=e.get("LESSONLOOP_SMTP_PASSWORD") or None,
                timeout=float(num("LESSONLOOP_SMTP_TIMEOUT", "10")),
            ),
            webhook_timeout=float(num("LESSONLOOP_WEBHOOK_TIMEOUT", "10")),
            webhook_allow_hosts=webhook_allow_hosts(e),
            reminder_days=days,
            overdue_repeat_days=num("LESSONLOOP_OVERDUE_REPEAT_DAYS", "7"),
            catch_up_days=num("LESSONLOOP_CATCH_UP_DAYS", "14"),
            reflection_severities=items("LESSONLOOP_REFLECTION_SEVERITIES", "high,critical"),
            reflection_within_days=num("LESSONLOOP_REFLECTION_WITHIN_DAYS", "7"),
            max_attempts=num("LESSONLOOP_MAX_ATTEMPTS", "5"),
            retry_base_seconds=num("LESSONLOOP_RETRY_BASE_SECONDS", "60"),
            lease_seconds=num("LESSONLOOP_LEASE_SECONDS", "300"),
            batch_size=num("LESSONLOOP_WORKER_BATCH", "50"),
            send_threads=num("LESSONLOOP_WORKER_SENDERS", "4"),
            shutdown_grace_seconds=float(num("LESSONLOOP_WORKER_SHUTDOWN_SECONDS", "30")),
            interval_seconds=float(num("LESSONLOOP_WORKER_INTERVAL", "60")),
            job_modules=items("LESSONLOOP_WORKER_JOB_MODULES", ""),
            calendar_base_url=e.get("LESSONLOOP_CALENDAR_BASE_URL", "").rstrip("/"),
        )
        if min(config.max_attempts, config.lease_seconds, config.batch_size, config.send_threads) < 1:
            raise Invalid(
                "max attempts, lease seconds, batch size and senders must be at least 1", field="worker"
            )
        return config


def num_item(raw: str, name: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(f"is not a whole number: {raw!r}", field=name) from None
    if value < 0:
        raise Invalid(f"must not be negative: {raw!r}", field=name)
    return value
