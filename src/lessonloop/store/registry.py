"""Import every model module so ``Base.metadata`` is complete (Alembic, tests, relationships)."""

from __future__ import annotations

from lessonloop.accounts import models as _accounts
from lessonloop.actions import models as _actions
from lessonloop.calendars import models as _calendars
from lessonloop.coaching import models as _coaching
from lessonloop.escalations import models as _escalations
from lessonloop.experiments import models as _experiments
from lessonloop.failures import models as _failures
from lessonloop.followthrough import models as _followthrough
from lessonloop.lessons import models as _lessons
from lessonloop.notifications import models as _notifications
from lessonloop.people import models as _people
from lessonloop.reviews import models as _reviews
from lessonloop.signals import models as _signals
from lessonloop.store import history as _history
from lessonloop.store.base import Base
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
    _coaching,
    _signals,
    _notifications,
    _worker,
    _calendars,
    _followthrough,
)
metadata = Base.metadata
