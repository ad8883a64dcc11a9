"""Times at the clocks' change: one that does not exist is refused, one that happens twice is told.

In 2031 UK clocks go forward at 01:00 on 30 March (01:00 to 01:59 do not exist) and back
at 02:00 on 26 October (01:00 to 01:59 happen twice, first in BST then in GMT).
"""

from datetime import datetime

import pytest
from sqlalchemy import func, select

from surveyapp.models import ProgrammeSession, Wave
from tests.factories import make_participant, make_programme, make_wave, stored_version

MISSING = "01:30 on 30 March 2031 does not exist in UK time: clocks go forward from 01:00 to 02:00"
TWICE = (
    "01:30 on 26 October 2031 happens twice in UK time, as clocks go back from 02:00 to 01:00: "
    "the first, 01:30 BST, was taken, an hour before 01:30 GMT"
)


def _boxes(name: str, moment: str) -> dict[str, str]:
    day, month, year, clock = moment.split()
    return {
        f"{name}_on-day": day,
        f"{name}_on-month": month,
        f"{name}_on-year": year,
        f"{name}_time": clock,
    }


def _new_wave(client, session, opens: str, closes: str):
    programme = make_programme(session)
    make_participant(session, programme)
    version = stored_version(session, "session_evaluation")
    session.commit()
    return client.post(
        f"/admin/programmes/{programme.id}/waves/new",
        data={
            "label": "Baseline",
            "version": str(version.id),
            **_boxes("opens", opens),
            **_boxes("closes", closes),
            "target_rate": "60",
            "privacy": "identified",
        },
        follow_redirects=True,
    )


def test_a_wave_opening_at_a_time_that_does_not_exist_is_refused(client, auth, session):
    auth.login()

    refused = _new_wave(client, session, "30 3 2031 01:30", "20 4 2031 17:00")

    assert refused.status_code == 422
    assert f"Opening time: {MISSING}. Enter another time" in refused.text
    assert session.scalar(select(func.count()).select_from(Wave)) == 0


def test_a_wave_closing_at_a_time_that_happens_twice_says_which_was_taken(client, auth, session):
    auth.login()

    made = _new_wave(client, session, "1 10 2031 09:00", "26 10 2031 01:30")

    assert made.status_code == 200
    assert f"Closing time: {TWICE}." in made.text
    wave = session.scalar(select(Wave))
    assert wave.closes_at == datetime(2031, 10, 26, 0, 30)  # 01:30 BST is 00:30 UTC


def test_changing_a_wave_to_a_time_that_does_not_exist_is_refused(client, auth, session):
    auth.login()
    wave = make_wave(session)
    session.commit()
    before = wave.closes_at

    refused = client.post(
        f"/admin/waves/{wave.id}/edit",
        data={"label": wave.label, "target_rate": "60", **_boxes("closes", "30 3 2031 01:59")},
    )

    assert refused.status_code == 422
    assert "Closing time: 01:59 on 30 March 2031 does not exist in UK time" in refused.text
    session.expire_all()
    assert wave.closes_at == before


SESSION = {
    "kind": "als_meeting",
    "other_kind": "",
    "group": "",
    "title": "Night shift debrief",
    "id_numbers": "",
    "notes": "",
}


@pytest.mark.parametrize(
    ("day", "starts", "ends", "message"),
    [
        ("30", "01:30", "03:00", f"Starts at: {MISSING}. Enter another time"),
        ("30", "00:30", "01:15", "Ends at: 01:15 on 30 March 2031 does not exist in UK time"),
    ],
)
def test_a_session_at_a_time_that_does_not_exist_is_refused(
    client, auth, session, day, starts, ends, message
):
    programme = make_programme(session)
    session.commit()
    auth.login()

    refused = client.post(
        f"/admin/programmes/{programme.id}/sessions/new",
        data=SESSION | {"day": day, "month": "3", "year": "2031", "starts": starts, "ends": ends},
    )

    assert refused.status_code == 422
    assert message in refused.text
    assert session.scalar(select(func.count()).select_from(ProgrammeSession)) == 0


def test_a_session_at_a_time_that_happens_twice_says_which_was_taken(client, auth, session):
    programme = make_programme(session)
    session.commit()
    auth.login()

    added = client.post(
        f"/admin/programmes/{programme.id}/sessions/new",
        data=SESSION
        | {"day": "26", "month": "10", "year": "2031", "starts": "01:30", "ends": "03:00"},
        follow_redirects=True,
    )

    assert added.status_code == 200
    assert f"Starts at: {TWICE}." in added.text
    [saved] = session.scalars(select(ProgrammeSession)).all()
    assert saved.starts_at == datetime(2031, 10, 26, 0, 30)
    assert saved.ends_at == datetime(2031, 10, 26, 3, 0)  # 03:00 GMT


def test_a_file_of_sessions_refuses_a_time_that_does_not_exist(session):
    from surveyapp.sessions import importing
    from tests.conftest import NOW

    programme = make_programme(session)
    rows = (
        "Type,Set,Date,Start time,End time\n"
        "Training day,,30/03/2031,01:30,03:00\n"
        "Training day,,26/10/2031,01:30,03:00\n"
    )

    checked = importing.check_sessions_file(
        session, programme, rows.encode(), now=NOW, zone="Europe/London"
    )

    assert [row.line for row in checked.rows] == [3]
    assert [(note.line, note.message) for note in checked.problems] == [
        (2, f"The start time is refused: {MISSING}.")
    ]
