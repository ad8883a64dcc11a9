"""Programmes and the people taking part: the cohort file, the roster, withdrawal."""
