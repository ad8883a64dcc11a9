"""Local dates and times of the study (Europe/London) to and from stored UTC (Flask-free).

At the clocks' change a local time can be missing (01:30 on the last Sunday of March
in the UK) or happen twice (01:30 on the last Sunday of October): :func:`missing_time`
says why a time is refused, :func:`repeated_time` which of the two was taken. The
first of the two (summer time) is always the one :func:`to_utc` takes.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def to_utc(day: date, clock: time, zone: str) -> datetime:
    """Turn a local date and time into naive UTC, as every ``*_at`` column stores it."""
    local = datetime.combine(day, clock, tzinfo=ZoneInfo(zone))
    return local.astimezone(UTC).replace(tzinfo=None)


def to_local(moment: datetime, zone: str) -> datetime:
    """Turn a stored naive UTC time into local time (naive, for form fields)."""
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def zone_words(zone: str) -> str:
    """ "UK time" for Europe/London, else the zone's name."""
    return "UK time" if zone == "Europe/London" else f"{zone} time"


def _when(day: date, clock: time) -> str:
    return f"{clock:%H:%M} on {day.day} {day:%B %Y}"


def _change(day: date, zone: str) -> tuple[datetime, datetime] | None:
    """The local clock just before and just after the change on ``day``, if there is one."""
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time(), tzinfo=tz).astimezone(UTC) - timedelta(hours=3)
    before = start.astimezone(tz)
    for minutes in range(1, 30 * 60 + 1):
        after = (start + timedelta(minutes=minutes)).astimezone(tz)
        if after.utcoffset() != before.utcoffset():
            return before.replace(tzinfo=None) + timedelta(minutes=1), after.replace(tzinfo=None)
        before = after
    return None


def missing_time(day: date, clock: time, zone: str) -> str | None:
    """Why a local time does not exist, as a sentence; None when it does.

    "01:30 on 28 March 2027 does not exist in UK time: clocks go forward from 01:00 to 02:00"
    """
    local = datetime.combine(day, clock, tzinfo=ZoneInfo(zone))
    if local.astimezone(UTC).astimezone(ZoneInfo(zone)).replace(tzinfo=None) == local.replace(
        tzinfo=None
    ):
        return None
    change = _change(day, zone)
    jump = f"from {change[0]:%H:%M} to {change[1]:%H:%M}" if change else "at this time"
    return f"{_when(day, clock)} does not exist in {zone_words(zone)}: clocks go forward {jump}"


def repeated_time(day: date, clock: time, zone: str) -> str | None:
    """Which of a local time that happens twice was taken, as a sentence; None when once.

    "01:30 on 31 October 2027 happens twice in UK time, as clocks go back from 02:00 to
    01:00: the first, 01:30 BST, was taken, an hour before 01:30 GMT"
    """
    first = datetime.combine(day, clock, tzinfo=ZoneInfo(zone))
    second = first.replace(fold=1)
    if first.utcoffset() == second.utcoffset() or missing_time(day, clock, zone):
        return None
    change = _change(day, zone)
    back = f" from {change[0]:%H:%M} to {change[1]:%H:%M}" if change else ""
    return (
        f"{_when(day, clock)} happens twice in {zone_words(zone)}, as clocks go back{back}: "
        f"the first, {clock:%H:%M} {first.tzname()}, was taken, an hour before "
        f"{clock:%H:%M} {second.tzname()}"
    )
