"""actions.specificity: forget the scores of the old scorer

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 12:00:00.000000

Issue #15 ("Scores and charts that agree"): the stored specificity was computed by a scorer that
counted any digit as a measurable outcome ("template v3" scored 100) and "raise awareness" as a
concrete verb. The parts are now checked for what they claim (lessonloop.signals.specificity).
A migration may not import the scorer (``store`` imports nothing above it), so it marks every
stored score as unknown (NULL): the metrics score an action with no stored score on the fly, and
the ``before_flush`` hook (signals/annotate.py) stores the new score on the action's next write.
Downgrading leaves the scores unknown too (the old scorer is gone).
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE actions SET specificity = NULL")


def downgrade() -> None:
    op.execute("UPDATE actions SET specificity = NULL")
