"""Typed commands for correcting follow-through records, shared by the pages and the CLI."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from lessonloop import limits
from lessonloop.fields import OptionalDay, Ref, Text


class EditGuardrail(BaseModel):
    """Correct a guardrail: only the fields sent change."""

    model_config = ConfigDict(extra="forbid", title="GuardrailPatch")
    title: Text | None = Field(default=None, min_length=1, max_length=limits.TITLE_MAX)
    reason: str | None = Field(default=None, max_length=limits.LONG_TEXT_MAX)
    rollback_plan: Text | None = Field(default=None, min_length=1, max_length=limits.LONG_TEXT_MAX)
    owner: Ref | None = Field(default=None, description="Person id, handle or e-mail.")
    expires_on: OptionalDay = Field(default=None, description="YYYY-MM-DD or +30d (a live guardrail).")

    def changes(self) -> dict[str, Any]:
        """The fields that were sent (a partial change), by name."""
        return self.model_dump(exclude_unset=True)


class EditRecognition(BaseModel):
    """Correct what a recognition says."""

    model_config = ConfigDict(extra="forbid", title="RecognitionPatch")
    note: str = Field(max_length=2000)
