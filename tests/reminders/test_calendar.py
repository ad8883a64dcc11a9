"""Working-day deadlines skip weekends and the bank holidays of England and Wales."""

from datetime import date, datetime

import pytest
from sqlalchemy import select

from surveyapp.models import EmailTemplate
from surveyapp.reminders import sending
from surveyapp.reminders.calendar import long_date, send_day, working_days_after
from surveyapp.timezones import to_local, to_utc
from tests.factories import make_participant, make_programme, make_wave


def wave_templates(session, wave):
    return session.scalars(select(EmailTemplate).where(EmailTemplate.wave_id == wave.id)).all()


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


# -- the send-day rule: no step goes out on a weekend or a bank holiday ---------------------

CHRISTMAS_WAVE_OPENS = datetime(2026, 12, 4, 9, 0)  # Friday 4 December 2026, 9am (GMT = UTC)


@pytest.mark.parametrize(
    ("planned", "due", "note"),
    [
        # Christmas Day is a Friday; Boxing Day (Saturday) is observed on Monday 28th.
        (
            datetime(2026, 12, 25, 9, 0),
            datetime(2026, 12, 29, 9, 0),
            "Moved from Friday 25 December: bank holiday",
        ),
        (
            datetime(2026, 12, 26, 9, 0),
            datetime(2026, 12, 29, 9, 0),
            "Moved from Saturday 26 December: weekend",
        ),
        # Easter Monday 2026, in British Summer Time: 10am UK (9am UTC) stays 10am UK.
        (
            datetime(2026, 4, 6, 9, 0),
            datetime(2026, 4, 7, 9, 0),
            "Moved from Monday 6 April: bank holiday",
        ),
        # Over the night the clocks go forward: 9am UK (GMT) on Saturday is 9am UK (BST) on Monday.
        (
            datetime(2026, 3, 28, 9, 0),
            datetime(2026, 3, 30, 8, 0),
            "Moved from Saturday 28 March: weekend",
        ),
        (datetime(2026, 12, 24, 9, 0), datetime(2026, 12, 24, 9, 0), ""),  # a working day
    ],
)
def test_a_step_on_a_day_off_moves_to_the_next_working_day(planned, due, note):
    day = send_day(planned, opens_at=datetime(2026, 1, 1), closes_at=datetime(2027, 6, 1))
    assert (day.due, day.note) == (due, note)


def test_a_step_whose_next_working_day_is_after_closing_is_brought_forward():
    day = send_day(
        datetime(2026, 12, 25, 9, 0),
        opens_at=CHRISTMAS_WAVE_OPENS,
        closes_at=datetime(2026, 12, 25, 17, 0),
    )
    assert day.due == datetime(2026, 12, 24, 9, 0)
    assert day.note == (
        "Moved from Friday 25 December: bank holiday (the next working day is after the wave closes)"
    )
    assert not day.after_closing


def test_a_step_due_when_the_wave_closes_is_not_moved_before_it():
    day = send_day(
        datetime(2026, 12, 25, 17, 0),
        opens_at=CHRISTMAS_WAVE_OPENS,
        closes_at=datetime(2026, 12, 25, 17, 0),
    )
    assert (day.due, day.after_closing, day.note) == (datetime(2026, 12, 25, 17, 0), True, "")


def test_the_default_plan_never_sends_the_final_reminder_on_christmas_day(session):
    """Opening on Friday 4 December: day 21 is Christmas Day, so the final goes on the 29th."""
    programme = make_programme(session)
    make_participant(session, programme, email="kwame@example.org")
    wave = make_wave(
        session,
        programme,
        opens_at=CHRISTMAS_WAVE_OPENS,
        closes_at=datetime(2027, 1, 8, 17, 0),
        now=CHRISTMAS_WAVE_OPENS,
    )
    steps = {step.label: step for step in sending.steps_of(session, wave)}
    final = steps["Final personal reminder"]
    assert sending.due_at(final) == datetime(2026, 12, 29, 9, 0)
    assert sending.due_at(steps["Second reminder"]) == datetime(2026, 12, 18, 9, 0)  # a Friday

    on_christmas_day = datetime(2026, 12, 25, 10, 0)
    assert final not in sending.due_steps(session, on_christmas_day)
    assert final in sending.due_steps(session, datetime(2026, 12, 29, 9, 0))


def test_the_plan_page_says_which_step_was_moved_and_why(client, auth, session):
    auth.login()
    programme = make_programme(session)
    wave = make_wave(
        session,
        programme,
        opens_at=CHRISTMAS_WAVE_OPENS,
        closes_at=datetime(2027, 1, 8, 17, 0),
        now=CHRISTMAS_WAVE_OPENS,
    )
    session.commit()

    text = client.get(f"/admin/waves/{wave.id}/reminders").text

    assert "Moved from Friday 25 December: bank holiday" in text
    assert "29 December 2026, 9:00am" in text
    assert text.count("Moved from") == 1


def test_a_step_an_administrator_puts_on_boxing_day_is_moved_and_the_banner_says_so(
    client, auth, session
):
    auth.login()
    programme = make_programme(session)
    wave = make_wave(
        session,
        programme,
        opens_at=CHRISTMAS_WAVE_OPENS,
        closes_at=datetime(2027, 1, 8, 17, 0),
        now=CHRISTMAS_WAVE_OPENS,
    )
    reminder = next(t for t in wave_templates(session, wave) if t.name == "reminder")
    session.commit()

    response = client.post(
        f"/admin/waves/{wave.id}/reminders/steps/new",
        data={
            "label": "Holiday nudge",
            "when": "days",
            "days_after_opening": "24",  # Monday 28 December: Boxing Day observed
            "audience": "not_completed",
            "template": str(reminder.id),
        },
        follow_redirects=True,
    )

    assert "Moved from Monday 28 December: bank holiday" in response.text
    session.expire_all()
    added = next(s for s in sending.steps_of(session, wave) if s.label == "Holiday nudge")
    assert sending.due_at(added) == datetime(2026, 12, 29, 9, 0)
