"""iCalendar feeds per person and per team behind secret, revocable URL tokens."""
