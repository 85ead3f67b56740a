"""Learning signals computed from the failures a team has logged."""
