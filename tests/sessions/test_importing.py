"""Files of sessions and of attendance: every row checked and reported before anything is saved."""

import io
import re
from datetime import datetime, timedelta

from sqlalchemy import func, select

from surveyapp.models import Attendance, ProgrammeSession
from surveyapp.sessions import importing
from tests.conftest import NOW
from tests.factories import make_participant, make_programme

ZONE = "Europe/London"
SESSIONS = (
    "Type,Set,Date,Start time,End time,Title,Roles,ID numbers\n"
    "Training day,,07/05/2030,10:00,16:00,Launch event,,\n"
    "Action learning set meeting,West,14/05/2030,09:30,12:00,,Set member,\n"
    "als_meeting,East,14/05/2030,09:30,12:00,,Set member,\n"
    "Mentoring session,,2030-05-20,14:00,15:00,,,W1;M1\n"
    "Action learning set meeting,West,14/05/2030,11:00,13:00,,,\n"
    "Coaching call,,31/02/2030,9am,10:00,,,Z9\n"
    "Supervision session,,20/04/2030,10:00,11:00,,,\n"
)


def _text(html: str) -> str:
    """What the page says, without its tags."""
    return " ".join(re.sub(r"<[^>]+>", "", html).split())


def _people(session, programme):
    make_participant(session, programme, id_number="W1", region="West", role="Set member")
    make_participant(session, programme, id_number="E1", region="East", role="Set member")
    make_participant(session, programme, id_number="M1", region="West", role="Mentor")


def test_a_file_of_sessions_is_checked_row_by_row(session):
    programme = make_programme(session)
    _people(session, programme)

    checked = importing.check_sessions_file(
        session, programme, SESSIONS.encode(), now=NOW, zone=ZONE
    )

    assert [row.line for row in checked.rows] == [2, 3, 4, 5, 8]
    assert [(note.line, note.message) for note in checked.problems] == [
        (
            6,
            "It overlaps Action learning set meeting (West), 14 May 2030, 09:30 to 12:00 "
            "(an earlier row), which has the same group.",
        ),
        (
            7,
            "“31/02/2030” is not a date; write it like 27/03/2031; The start time “9am” is not "
            "a 24-hour time like 14:30; No one in this programme has the ID number Z9.",
        ),
    ]
    assert [(note.line, note.message) for note in checked.warnings] == [
        (8, "20 April 2030 has passed; it is loaded as a session held."),
    ]
    west, mentoring = checked.rows[1].details, checked.rows[3].details
    assert (west.kind, west.group, west.expected) == (
        "als_meeting",
        "West",
        {"group": True, "role": ["Set member"]},
    )
    assert west.starts_at == datetime(2030, 5, 14, 8, 30)
    assert checked.rows[0].details.kind == "training"
    assert mentoring.kind == "mentoring" and len(mentoring.expected["participant"]) == 2
    assert session.scalar(select(func.count()).select_from(ProgrammeSession)) == 0


def test_bad_files_say_why_and_a_saved_session_clashes_with_the_same_row_again(session):
    programme = make_programme(session)
    _people(session, programme)

    no_date = importing.check_sessions_file(
        session, programme, b"Kind,Start,End\nTraining day,10:00,11:00\n", now=NOW, zone=ZONE
    )
    assert no_date.file_problems == [
        "There is no “date” column. The first row must name the columns."
    ]
    assert not no_date.is_importable
    workbook = importing.check_sessions_file(
        session, programme, b"PK\x03\x04xx", now=NOW, zone=ZONE
    )
    assert "Excel workbook" in workbook.file_problems[0]

    first = importing.check_sessions_file(session, programme, SESSIONS.encode(), now=NOW, zone=ZONE)
    assert importing.load_sessions(session, programme, first, now=NOW) == 5
    again = importing.check_sessions_file(session, programme, SESSIONS.encode(), now=NOW, zone=ZONE)
    assert again.rows == [] and "(saved)" in again.problems[0].message


def test_sessions_are_checked_then_loaded_in_the_browser(client, auth, session):
    programme = make_programme(session)
    _people(session, programme)
    session.commit()
    auth.login()
    url = f"/admin/programmes/{programme.id}/sessions/import"

    report = client.post(url, data={"file": (io.BytesIO(SESSIONS.encode()), "sessions.csv")})

    assert report.status_code == 200
    assert "5 rows ready to load, 2 rows with problems that will be left out." in _text(report.text)
    assert "No one in this programme has the ID number Z9" in report.text
    assert "Load 5 sessions and leave out the rows with problems" in report.text
    assert session.scalar(select(func.count()).select_from(ProgrammeSession)) == 0
    content = report.text.split('name="content" value="')[1].split('"')[0]

    loaded = client.post(f"{url}/load", data={"content": content})

    assert loaded.status_code == 303
    assert session.scalar(select(func.count()).select_from(ProgrammeSession)) == 5
    listed = client.get(f"/admin/programmes/{programme.id}/sessions").text
    assert "Sessions loaded: 5 added; 2 row(s) with problems were left out." in listed
    assert "Launch event" in listed


ATTENDANCE = (
    "ID number,Session,Date,Attended\n"
    "W1,,14/05/2030,yes\n"
    "E1,,14/05/2030,Y\n"
    "M1,,14/05/2030,yes\n"
    "W1,{launch},,no\n"
    "Q7,{launch},,yes\n"
    "W1,,15/05/2030,yes\n"
    "W1,999,,maybe\n"
    "W1,,14/05/2030,no\n"
    "E1,{launch},08/05/2030,yes\n"
    "E1,{later},,yes\n"
)


def _planned(session, programme):
    _people(session, programme)
    checked = importing.check_sessions_file(
        session, programme, SESSIONS.encode(), now=NOW + timedelta(days=30), zone=ZONE
    )
    importing.load_sessions(session, programme, checked, now=NOW)
    later = ProgrammeSession(
        programme=programme,
        kind="training",
        starts_at=NOW + timedelta(days=300),
        ends_at=NOW + timedelta(days=300, hours=2),
        expected={},
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(later)
    session.flush()
    launch = session.scalar(select(ProgrammeSession).where(ProgrammeSession.kind == "training"))
    return ATTENDANCE.format(launch=launch.id, later=later.id).encode(), launch, later


def test_an_attendance_file_finds_each_session_by_number_or_date(session):
    programme = make_programme(session)
    data, launch, later = _planned(session, programme)
    now = NOW + timedelta(days=30)

    checked = importing.check_attendance_file(session, programme, data, now=now, zone=ZONE)

    assert [(row.line, row.participant.id_number, row.attended) for row in checked.rows] == [
        (2, "W1", True),
        (3, "E1", True),
        (5, "W1", False),
    ]
    assert [(note.line, note.message) for note in checked.problems] == [
        (
            4,
            "There are 2 sessions on 14 May 2030; give the session's number in a “Session” column.",
        ),
        (6, "No one in this programme has the ID number Q7."),
        (7, "There is no session on 15 May 2030."),
        (
            8,
            "“maybe” under “attended” is not yes or no; There is no session number 999 in "
            "this programme.",
        ),
        (9, f"Line 2 already gives W1 at session {checked.rows[0].programme_session.id}."),
        (10, f"Session {launch.id} is on 7 May 2030, not 8 May 2030."),
        (11, f"Session {later.id} has not taken place yet."),
    ]
    assert checked.rows[0].programme_session.group == "West"
    assert checked.rows[1].programme_session.group == "East"

    summary = importing.load_attendance(session, checked, now=now)
    assert (summary.came, summary.did_not_come) == (2, 1)
    assert session.scalar(select(func.count()).select_from(Attendance)) == 3


def test_attendance_is_checked_then_loaded_in_the_browser(make_app, session):
    from surveyapp.staff import operations as accounts
    from tests.conftest import PASSWORD

    app = make_app(CLOCK=lambda: NOW + timedelta(days=30))
    programme = make_programme(session)
    data, _, _ = _planned(session, programme)
    accounts.create_user(
        session, email="fay@example.org", password=PASSWORD, role="facilitator", now=NOW
    )
    from surveyapp.staff import access

    access.set_membership(session, accounts.find_user(session, "fay@example.org"), {programme.id})
    session.commit()
    client = app.test_client()
    client.post("/auth/login", data={"email": "fay@example.org", "password": PASSWORD})
    url = f"/admin/programmes/{programme.id}/attendance/import"

    report = client.post(url, data={"file": (io.BytesIO(data), "attendance.csv")})
    assert report.status_code == 200, report.text
    assert "3 rows ready to load, 7 rows with problems that will be left out." in _text(report.text)
    assert session.scalar(select(func.count()).select_from(Attendance)) == 0
    content = report.text.split('name="content" value="')[1].split('"')[0]
    loaded = client.post(f"{url}/load", data={"content": content}, follow_redirects=True)

    assert "Attendance loaded: 2 came, 1 did not come; 7 row(s) with problems were left out." in (
        loaded.text
    )
    assert session.scalar(select(func.count()).select_from(Attendance)) == 3
    rows = session.scalars(select(Attendance)).all()
    assert {row.recorded_by for row in rows} == {None}


def test_hidden_characters_in_a_file_of_sessions_are_named(session):
    programme = make_programme(session)
    data = "Kind,Group,Date,Start,End\nTraining day,We\u200bst,07/05/2030,10:00,16:00\n"

    checked = importing.check_sessions_file(session, programme, data.encode(), now=NOW, zone=ZONE)

    assert checked.rows == []
    assert checked.problems[0].message.startswith("The group has a hidden character (")
