"""One error type per kind of refusal.

The API maps them to HTTP codes (404/422/409/403/401), the CLI to a one-line message and exit code 1,
the pages to a message beside the field. Services raise nothing else on bad input.
"""

from __future__ import annotations


class LessonloopError(Exception):
    """Base class: ``field`` names the input at fault when there is one."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class NotFound(LessonloopError):
    status_code = 404


class Invalid(LessonloopError):
    status_code = 422


class InvalidFields(Invalid):
    """Several fields refused at once (:func:`lessonloop.fields.parse_command`): ``field`` and
    ``message`` are the first, ``errors`` every field's refusal by field name, in the model's
    order, so a page shows them all beside their fields in one go."""

    def __init__(
        self, message: str, *, field: str | None = None, errors: dict[str, str] | None = None
    ) -> None:
        super().__init__(message, field=field)
        self.errors = dict(errors or {})


class Conflict(LessonloopError):
    """The request is well-formed but the record's state refuses it (e.g. an illegal transition)."""

    status_code = 409


class PermissionDenied(LessonloopError):
    status_code = 403


class NotAuthenticated(LessonloopError):
    """Nobody (valid) is signed in: no credentials, or an unknown, revoked or expired one (401)."""

    status_code = 401
