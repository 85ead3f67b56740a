"""Coaching notes and development plans: private between a lead (or the person) and the person."""
