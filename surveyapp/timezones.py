"""Local dates and times of the study (Europe/London) to and from stored UTC (Flask-free)."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo


def to_utc(day: date, clock: time, zone: str) -> datetime:
    """Turn a local date and time into naive UTC, as every ``*_at`` column stores it."""
    local = datetime.combine(day, clock, tzinfo=ZoneInfo(zone))
    return local.astimezone(UTC).replace(tzinfo=None)


def to_local(moment: datetime, zone: str) -> datetime:
    """Turn a stored naive UTC time into local time (naive, for form fields)."""
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(zone)).replace(tzinfo=None)
