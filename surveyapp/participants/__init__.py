"""Participants of a programme: the cohort file, the roster and who has withdrawn (Flask-free)."""
