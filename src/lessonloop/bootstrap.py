"""Wires the layers into storage, once, on import (``store`` imports nothing above it).

* every model module, so :data:`metadata` (``Base.metadata``) has every table: migrations,
  relationships by name, exports;
* the session hooks of the layers above: the coach's scores on reviews and actions
  (:mod:`lessonloop.signals.annotate`) and, when the ``semantic`` setting is on, the embeddings
  (:mod:`lessonloop.signals.semantic`).

The app, the CLI and the tests import this before opening a database; opening one without it is
refused (:func:`lessonloop.store.registry.require_wired`).
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from lessonloop.accounts import models as _accounts
from lessonloop.accounts import throttle as _throttle
from lessonloop.actions import models as _actions
from lessonloop.calendars import models as _calendars
from lessonloop.coaching import models as _coaching
from lessonloop.discussion import models as _discussion
from lessonloop.escalations import models as _escalations
from lessonloop.experiments import models as _experiments
from lessonloop.failures import models as _failures
from lessonloop.followthrough import models as _followthrough
from lessonloop.integrations.slack import models as _slack
from lessonloop.integrations.sso import models as _sso
from lessonloop.integrations.trackers import models as _trackers
from lessonloop.integrations.webhooks import events as _event_webhooks
from lessonloop.integrations.webhooks import models as _webhooks
from lessonloop.lessons import models as _lessons
from lessonloop.notifications import models as _notifications
from lessonloop.people import models as _people
from lessonloop.reviews import models as _reviews
from lessonloop.signals import models as _signals
from lessonloop.signals.annotate import annotate_flush
from lessonloop.signals.semantic import register_embedding_hook
from lessonloop.store import history as _history
from lessonloop.store import registry
from lessonloop.worker import models as _worker

MODULES = (
    _people,
    _failures,
    _reviews,
    _actions,
    _experiments,
    _lessons,
    _escalations,
    _history,
    _accounts,
    _throttle,
    _coaching,
    _signals,
    _notifications,
    _worker,
    _calendars,
    _followthrough,
    _discussion,
    _slack,
    _sso,
    _trackers,
    _webhooks,
)
metadata = registry.metadata


def _annotate(factory: sessionmaker[Session]) -> None:
    # The coach's scores are stored on reviews and actions for the metrics (signals/annotate.py).
    event.listen(factory, "before_flush", annotate_flush)


registry.register_session_hook("annotate", _annotate)
# Outgoing event webhooks: an event's deliveries enter the outbox in its own transaction.
registry.register_session_hook("event-webhooks", _event_webhooks.install)
registry.register_session_hook("embeddings", register_embedding_hook, feature="semantic")
registry.mark_wired()
