"""Working-day deadlines skip weekends and the bank holidays of England and Wales."""

from datetime import date, datetime

import pytest

from surveyapp.reminders.calendar import long_date, working_days_after
from surveyapp.timezones import to_local, to_utc


@pytest.mark.parametrize(
    ("start", "days", "deadline"),
    [
        (date(2026, 11, 23), 3, date(2026, 11, 26)),  # Monday: plain working days
        (date(2026, 11, 26), 3, date(2026, 12, 1)),  # Thursday: over a weekend
        (date(2026, 4, 1), 3, date(2026, 4, 8)),  # over Good Friday and Easter Monday
        (date(2026, 12, 23), 3, date(2026, 12, 30)),  # Christmas, Boxing Day observed on Monday
        (date(2026, 5, 22), 1, date(2026, 5, 26)),  # Spring bank holiday Monday
        (date(2011, 3, 11), 3, date(2011, 3, 16)),  # the seed's final reminder: Friday to Wednesday
    ],
)
def test_working_days_skip_weekends_and_bank_holidays(start, days, deadline):
    assert working_days_after(start, days) == deadline


def test_deadlines_are_written_out_in_full():
    assert long_date(date(2011, 3, 16)) == "Wednesday 16 March 2011"


def test_local_times_follow_the_change_of_clocks():
    # 9am in London is 9am UTC before the clocks go forward on 29 March 2026, 8am after.
    assert to_utc(date(2026, 3, 28), datetime(1, 1, 1, 9).time(), "Europe/London").hour == 9
    assert to_utc(date(2026, 3, 30), datetime(1, 1, 1, 9).time(), "Europe/London").hour == 8
    assert to_local(datetime(2026, 10, 26, 8, 0), "Europe/London").hour == 8
    assert to_local(datetime(2026, 10, 24, 8, 0), "Europe/London").hour == 9
