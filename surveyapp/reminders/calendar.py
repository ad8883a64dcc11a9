"""Working days in England and Wales: weekends and bank holidays skipped (Flask-free).

Also the send-day rule of the reminder plan: a step never goes out on a weekend or a bank
holiday; one that would is moved to the next working day at the same UK time
(:func:`send_day`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

import holidays

from surveyapp.timezones import to_local, to_utc

#: Bank holidays of England and Wales fall on UK days, whatever the study's display zone.
UK_ZONE = "Europe/London"

#: How far the send-day rule looks for a working day (Christmas and New Year need 5).
_SEARCH_DAYS = 14


@lru_cache(maxsize=32)
def _bank_holidays(year: int) -> frozenset[date]:
    # England and Wales share their bank holidays; Scotland and Northern Ireland differ.
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year))


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def why_not_working(day: date) -> str:
    """ "weekend" or "bank holiday" for a day off, "" for a working day."""
    if day.weekday() >= 5:
        return "weekend"
    if day in _bank_holidays(day.year):
        return "bank holiday"
    return ""


def working_days_after(start: date, count: int) -> date:
    """Return the date ``count`` working days after ``start`` (``start`` itself not counted)."""
    day = start
    remaining = count
    while remaining > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return day


def long_date(day: date) -> str:
    """Write a date out in full, British style: "Wednesday 16 March 2011"."""
    return f"{day:%A} {day.day} {day:%B %Y}"


def short_date(day: date) -> str:
    """A date without its year: "Friday 25 December"."""
    return f"{day:%A} {day.day} {day:%B}"


# -- the send-day rule of reminder steps ---------------------------------------------------


@dataclass(frozen=True)
class SendDay:
    """When a step goes out (``due``, UTC) and, when it was moved, from when and why."""

    planned: datetime
    due: datetime
    reason: str = ""  # "weekend" or "bank holiday" when moved
    #: The next working day was after the wave closes, so the step was brought forward.
    brought_forward: bool = False
    #: Due at or after the wave closes, so it will not be sent.
    after_closing: bool = False

    @property
    def moved(self) -> bool:
        return self.due != self.planned

    @property
    def note(self) -> str:
        """What the plan page says: "Moved from Friday 25 December: bank holiday"."""
        if not self.moved:
            return ""
        text = f"Moved from {short_date(to_local(self.planned, UK_ZONE).date())}: {self.reason}"
        if self.brought_forward:
            text += " (the next working day is after the wave closes)"
        return text


def _same_time_on(planned_local: datetime, day: date) -> datetime:
    return to_utc(day, planned_local.time(), UK_ZONE)


def send_day(
    planned: datetime, *, opens_at: datetime | None = None, closes_at: datetime | None = None
) -> SendDay:
    """Move a step's planned time (naive UTC) off weekends and bank holidays of England and Wales.

    The step moves to the next working day at the same UK time. When that is at or after
    the wave's closing, it moves back to the last working day before closing that is not
    before the opening; when no such day exists it stays as planned.
    """
    local = to_local(planned, UK_ZONE)
    reason = why_not_working(local.date())
    after_closing = closes_at is not None and planned >= closes_at
    if not reason or after_closing:
        return SendDay(planned, planned, after_closing=after_closing)
    for ahead in range(1, _SEARCH_DAYS + 1):
        day = local.date() + timedelta(days=ahead)
        if is_working_day(day):
            later = _same_time_on(local, day)
            if closes_at is None or later < closes_at:
                return SendDay(planned, later, reason)
            break
    for back in range(1, _SEARCH_DAYS + 1):
        day = local.date() - timedelta(days=back)
        earlier = _same_time_on(local, day)
        if opens_at is not None and earlier < opens_at:
            break
        if is_working_day(day):
            return SendDay(planned, earlier, reason, brought_forward=True)
    return SendDay(planned, planned)


def planned_at(step) -> datetime:
    """When a reminder step is set to go out (UTC), before the send-day rule."""
    if step.send_on is not None:
        return step.send_on
    return step.wave.opens_at + timedelta(days=step.days_after_opening or 0)


def send_day_of(step) -> SendDay:
    """The send day of a reminder step of its wave (see :func:`send_day`)."""
    wave = step.wave
    return send_day(planned_at(step), opens_at=wave.opens_at, closes_at=wave.closes_at)
