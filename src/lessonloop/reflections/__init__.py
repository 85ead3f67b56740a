"""Reflection sessions: listing, scheduling, rescheduling, holding them and their notes.

The model is :class:`lessonloop.worker.models.ReflectionSession` (the worker proposes sessions,
:mod:`lessonloop.worker.reflections` picks who facilitates); people manage them through
:mod:`lessonloop.reflections.service`.
"""
