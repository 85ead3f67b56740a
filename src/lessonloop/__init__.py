"""lessonloop: turn a team's failures into learning signals (observe → interpret → act → re-evaluate)."""

__version__ = "0.1.0"
