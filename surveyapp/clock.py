"""The real clock: the only place that reads the time (the CLOCK config default)."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Return the current time in UTC, naive, as every ``*_at`` column stores it."""
    return datetime.now(UTC).replace(tzinfo=None)
