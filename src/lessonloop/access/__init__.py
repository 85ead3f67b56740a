"""Who may see and change what: the visibility policy as predicates and matching SQL clauses.

``access.actor`` says who acts (a person's Viewer or a named SystemActor; never ``None``);
``access.policy`` holds the rules (only a Viewer is granted anything there);
``access.scope`` applies them in services (a SystemActor is let through, ``None`` refused);
``access.indexed`` filters search hits.
"""

from lessonloop.access.policy import (
    can_edit_failure,
    can_edit_lesson,
    can_manage_directory,
    can_manage_team,
    can_see,
    can_see_assumption,
    can_see_escalation,
    can_see_failure,
    can_see_lesson,
    can_see_note,
    can_see_plan,
    can_work_on_action,
    require_can_edit_failure,
    require_visible,
    visible_actions_clause,
    visible_assumptions_clause,
    visible_experiments_clause,
    visible_failures_clause,
    visible_lessons_clause,
    visible_notes_clause,
    visible_observations_clause,
    visible_plans_clause,
    visible_reviews_clause,
)
from lessonloop.access.viewer import Viewer, viewer_for

__all__ = [
    "Viewer",
    "can_edit_failure",
    "can_edit_lesson",
    "can_manage_directory",
    "can_manage_team",
    "can_see",
    "can_see_assumption",
    "can_see_escalation",
    "can_see_failure",
    "can_see_lesson",
    "can_see_note",
    "can_see_plan",
    "can_work_on_action",
    "require_can_edit_failure",
    "require_visible",
    "viewer_for",
    "visible_actions_clause",
    "visible_assumptions_clause",
    "visible_experiments_clause",
    "visible_failures_clause",
    "visible_lessons_clause",
    "visible_notes_clause",
    "visible_observations_clause",
    "visible_plans_clause",
    "visible_reviews_clause",
]
