"""A programme's sessions, registers and attendance files, filled in and sent in Chromium.

Each journey runs with JavaScript on (htmx boosts the pages; register ticks save as they
are made) and off, where the same forms must work as plain HTML.
"""

from datetime import datetime

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from surveyapp.models import Attendance, Participant, ProgrammeSession
from tests.browser.conftest import sign_in
from tests.factories import make_participant, make_programme

pytestmark = pytest.mark.browser

BOTH = pytest.mark.parametrize("javascript", [True, False], ids=["javascript-on", "javascript-off"])
BANNER = ".govuk-notification-banner--success"
SUMMARY = ".govuk-error-summary"


@pytest.fixture
def open_admin(browser, live_server):
    """Open a signed-in admin page with JavaScript on or off; fail on any script error."""
    contexts, errors = [], []

    def open_page(javascript: bool):
        context = browser.new_context(java_script_enabled=javascript)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        sign_in(page, live_server.url)
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert errors == []


def expect_errors(page, *messages) -> None:
    expect(page.locator(f"{SUMMARY} li")).to_have_text(list(messages))


def saved_sessions(live_server) -> list[tuple]:
    with live_server.sessionmaker() as session:
        return [
            (s.kind, s.group, s.title, s.starts_at, s.ends_at, s.expected, s.notes)
            for s in session.scalars(select(ProgrammeSession).order_by(ProgrammeSession.id))
        ]


def fill_session(page, *, day, month, year, starts, ends):
    page.fill("#day", day)
    page.fill("#month", month)
    page.fill("#year", year)
    page.fill("#starts", starts)
    page.fill("#ends", ends)


@BOTH
@pytest.mark.posts(
    "/admin/programmes/<int:programme_id>/sessions/new",
    "/admin/programmes/<int:programme_id>/sessions/<int:session_id>/edit",
    "/admin/programmes/<int:programme_id>/sessions/<int:session_id>/delete",
)
def test_add_a_session_change_it_then_delete_it(open_admin, live_server, javascript):
    with live_server.sessionmaker() as session:
        programme = make_programme(session, name="Action learning")
        mentee = make_participant(session, programme, id_number="W01", region="West")
        make_participant(session, programme, id_number="E01", region="East", role="Mentor")
        programme_id, mentee_id = programme.id, mentee.id
        session.commit()
    page = open_admin(javascript)
    page.goto(f"{live_server.url}/admin/programmes/{programme_id}")
    page.click("a:has-text('Sessions and attendance')")
    expect(page.locator("h1")).to_have_text("Sessions")
    page.click("a:has-text('Add a session')")
    expect(page.locator("h1")).to_have_text("Add a session")

    # Nothing chosen, an unreal date, a time not on the 24-hour clock: each is named.
    fill_session(page, day="31", month="2", year="2030", starts="9am", ends="12:00")
    page.click("button:has-text('Add the session')")
    expect_errors(
        page,
        "Choose the kind of session",
        "The date must be a real date, like 27 3 2031",
        "Enter the start time as a 24-hour time, like 09:30 or 14:00",
    )
    assert saved_sessions(live_server) == []

    # In the past (NOW is 1 May 2030): asked to confirm it has taken place.
    page.check("label:has-text('Mentoring session')")
    page.fill("#group", "West")
    page.fill("#title", "First pairing")
    fill_session(page, day="20", month="4", year="2030", starts="14:00", ends="15:30")
    page.check("#expect_group")
    page.check("label:has-text('Peer')")
    page.fill("#id_numbers", "E01")
    page.fill("#notes", "By telephone")
    page.click("button:has-text('Add the session')")
    expect_errors(
        page,
        "20 April 2030 at 14:00 has passed. Tick the box if the session has already taken "
        "place, or change the date",
    )
    assert saved_sessions(live_server) == []
    page.check("#confirm_past")
    page.click("button:has-text('Add the session')")
    expect(page.locator(BANNER)).to_contain_text(
        "Session added: Mentoring session (West), 20 April 2030, 14:00 to 15:30."
    )
    expect(page.locator("#sessions")).to_contain_text("People in West; roles Peer, and 1 named")
    [saved] = saved_sessions(live_server)
    with live_server.sessionmaker() as session:
        mentor_id = session.scalar(select(Participant.id).where(Participant.id_number == "E01"))
    assert saved == (
        "mentoring",
        "West",
        "First pairing",
        datetime(2030, 4, 20, 13, 0),
        datetime(2030, 4, 20, 14, 30),
        {"group": True, "role": ["Peer"], "participant": [mentor_id]},
        "By telephone",
    )
    assert mentor_id != mentee_id

    # Change it to a named kind on a later day, for the whole cohort.
    page.click("#sessions a:has-text('Change')")
    expect(page.locator("h1")).to_have_text("Change a session")
    expect(page.locator("#day")).to_have_value("20")
    expect(page.locator("#starts")).to_have_value("14:00")
    page.check("label:has-text('Another kind')")
    page.fill("#other_kind", "Launch event")
    page.fill("#group", "")
    page.fill("#title", "")
    page.uncheck("#expect_group")
    page.uncheck("label:has-text('Peer')")
    page.fill("#id_numbers", "")
    page.fill("#notes", "")
    fill_session(page, day="7", month="5", year="2030", starts="10:00", ends="16:00")
    page.click("button:has-text('Save changes')")
    expect(page.locator(BANNER)).to_contain_text(
        "Session saved: Launch event, 7 May 2030, 10:00 to 16:00."
    )
    expect(page.locator("#sessions")).to_contain_text("Everyone in the cohort")
    assert saved_sessions(live_server) == [
        (
            "Launch event",
            "",
            "",
            datetime(2030, 5, 7, 9, 0),
            datetime(2030, 5, 7, 15, 0),
            {},
            "",
        )
    ]

    page.click("#sessions a:has-text('Delete')")
    expect(page.locator("h1")).to_have_text("Delete this session?")
    page.click("button:has-text('Delete the session')")
    expect(page.locator(BANNER)).to_contain_text(
        "Session deleted: Launch event, 7 May 2030, 10:00 to 16:00."
    )
    expect(page.locator("#sessions")).to_contain_text("No sessions yet.")
    assert saved_sessions(live_server) == []


def _meeting(live_server, **expected):
    """A programme with three people, two of them in the West set, and a West meeting."""
    from datetime import timedelta

    from tests.conftest import NOW

    with live_server.sessionmaker() as session:
        programme = make_programme(session, name="Sets")
        for number, name, region in (("W1", "Amira Khan", "West"), ("W2", "Ben O'Neill", "West")):
            make_participant(session, programme, id_number=number, name=name, region=region)
        make_participant(session, programme, id_number="E1", name="Chloé Dubois", region="East")
        meeting = ProgrammeSession(
            programme=programme,
            kind="als_meeting",
            group="West",
            starts_at=NOW - timedelta(hours=3),
            ends_at=NOW - timedelta(hours=1),
            expected=expected,
            created_at=NOW,
            updated_at=NOW,
        )
        session.add(meeting)
        session.commit()
        return programme.id, meeting.id


def recorded(live_server) -> dict[str, bool]:
    with live_server.sessionmaker() as session:
        return {
            row.participant.id_number: row.attended for row in session.scalars(select(Attendance))
        }


@BOTH
@pytest.mark.posts(
    "/admin/programmes/<int:programme_id>/sessions/<int:session_id>/register",
    "/admin/programmes/<int:programme_id>/sessions/<int:session_id>/register/<int:participant_id>",
)
def test_keep_a_register_tick_by_tick_or_with_the_save_button(open_admin, live_server, javascript):
    programme_id, meeting_id = _meeting(live_server, group=True)
    page = open_admin(javascript)
    page.goto(f"{live_server.url}/admin/programmes/{programme_id}/sessions")
    page.click("#sessions a:has-text('Register')")
    expect(page.locator("h1")).to_have_text("Register")
    rows = page.locator("#register tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#register")).not_to_contain_text("Chloé")

    page.check("label:has-text('Amira Khan came')")
    if javascript:
        # Saved as soon as it is ticked, without the button.
        expect(rows.nth(0)).to_contain_text("Saved: came")
        assert recorded(live_server) == {"W1": True}
        page.uncheck("label:has-text('Amira Khan came')")
        expect(rows.nth(0)).to_contain_text("Saved: did not come")
        assert recorded(live_server) == {"W1": False}
        page.check("label:has-text('Amira Khan came')")
        expect(rows.nth(0)).to_contain_text("Saved: came")
    else:
        assert recorded(live_server) == {}

    # Someone who came without being expected, by an ID number no one has, then rightly.
    page.fill("#someone_else", "X9")
    page.click("button:has-text('Save the register')")
    expect_errors(page, "No one in this programme has the ID number X9")
    page.fill("#someone_else", "E1")
    page.click("button:has-text('Save the register')")
    expect(page.locator(BANNER)).to_contain_text("Register saved: 2 came.")
    expect(rows).to_have_count(3)
    expect(page.locator("#register")).to_contain_text("Chloé Dubois Not expected")
    assert recorded(live_server) == {"W1": True, "W2": False, "E1": True}


SESSIONS_FILE = (
    "Kind,Group,Date,Start,End,Title\n"
    "Training day,,07/05/2030,10:00,16:00,Launch event\n"
    "Action learning set meeting,West,14/05/2030,09:30,12:00,\n"
    "Action learning set meeting,West,14/05/2030,11:00,13:00,\n"
)


@BOTH
@pytest.mark.posts(
    "/admin/programmes/<int:programme_id>/sessions/import",
    "/admin/programmes/<int:programme_id>/sessions/import/load",
)
def test_check_a_file_of_sessions_then_load_its_good_rows(
    open_admin, live_server, javascript, tmp_path
):
    with live_server.sessionmaker() as session:
        programme_id = make_programme(session, name="Sets from a file").id
        session.commit()
    no_end = tmp_path / "no-end.csv"
    no_end.write_text("Kind,Date,Start\nTraining day,07/05/2030,10:00\n", encoding="utf-8")
    sessions = tmp_path / "sessions.csv"
    sessions.write_text(SESSIONS_FILE, encoding="utf-8")
    page = open_admin(javascript)
    page.goto(f"{live_server.url}/admin/programmes/{programme_id}/sessions")
    page.click("a:has-text('Load sessions from a CSV file')")
    expect(page.locator("h1")).to_have_text("Load sessions from a CSV file")

    page.click("button:has-text('Check the file')")
    expect_errors(page, "Choose a CSV file to upload")
    page.set_input_files("#file", str(no_end))
    page.click("button:has-text('Check the file')")
    expect(page.locator(SUMMARY)).to_contain_text("There is no “end” column.")
    assert page.locator("button:has-text('Load')").count() == 0

    page.set_input_files("#file", str(sessions))
    page.click("button:has-text('Check')")
    expect(page.locator("#file-summary")).to_contain_text(
        "2 rows ready to load, 1 row with problems that will be left out."
    )
    problems = page.locator("table:has(caption:has-text('Rows with problems')) tbody tr")
    assert problems.all_inner_texts() == [
        "4\tIt overlaps Action learning set meeting (West), 14 May 2030, 09:30 to 12:00 "
        "(an earlier row), which has the same group."
    ]
    assert saved_sessions(live_server) == []

    page.click("button:has-text('Load 2 sessions and leave out the rows with problems')")
    expect(page.locator(BANNER)).to_contain_text(
        "Sessions loaded: 2 added; 1 row(s) with problems were left out."
    )
    expect(page.locator("#sessions tbody tr")).to_have_count(2)
    assert saved_sessions(live_server) == [
        (
            "training",
            "",
            "Launch event",
            datetime(2030, 5, 7, 9, 0),
            datetime(2030, 5, 7, 15, 0),
            {},
            "",
        ),
        (
            "als_meeting",
            "West",
            "",
            datetime(2030, 5, 14, 8, 30),
            datetime(2030, 5, 14, 11, 0),
            {"group": True},
            "",
        ),
    ]


@BOTH
@pytest.mark.posts(
    "/admin/programmes/<int:programme_id>/attendance/import",
    "/admin/programmes/<int:programme_id>/attendance/import/load",
)
def test_check_an_attendance_file_then_load_it_and_read_each_persons_sessions(
    open_admin, live_server, javascript, tmp_path
):
    programme_id, meeting_id = _meeting(live_server, group=True)
    attendance = tmp_path / "attendance.csv"
    attendance.write_text(
        "ID number,Date,Attended\nW1,01/05/2030,yes\nW2,01/05/2030,no\nZ9,01/05/2030,yes\n"
        "E1,02/05/2030,yes\n",
        encoding="utf-8",
    )
    page = open_admin(javascript)
    page.goto(f"{live_server.url}/admin/programmes/{programme_id}/sessions")
    page.click("a:has-text('Load attendance from a CSV file')")
    expect(page.locator("h1")).to_have_text("Load attendance from a CSV file")
    page.set_input_files("#file", str(attendance))
    page.click("button:has-text('Check the file')")
    expect(page.locator("#file-summary")).to_contain_text(
        "2 rows ready to load, 2 rows with problems that will be left out."
    )
    problems = page.locator("table:has(caption:has-text('Rows with problems')) tbody tr")
    assert problems.all_inner_texts() == [
        "4\tNo one in this programme has the ID number Z9.",
        "5\tThere is no session on 2 May 2030.",
    ]
    assert recorded(live_server) == {}

    page.click("button:has-text('Load 2 rows and leave out the rows with problems')")
    expect(page.locator(BANNER)).to_contain_text(
        "Attendance loaded: 1 came, 1 did not come; 2 row(s) with problems were left out."
    )
    expect(page.locator("h1")).to_have_text("Attendance of each person")
    assert recorded(live_server) == {"W1": True, "W2": False}
    table = page.locator("#attendance tbody tr")
    assert table.all_inner_texts() == [
        "E1\tChloé Dubois\t0 of 0\t0",
        "W1\tAmira Khan\t1 of 1\t0",
        "W2\tBen O'Neill\t0 of 1\t0",
    ]
    page.click("#attendance a:has-text('W1')")
    expect(page.locator("h1")).to_have_text("Amira Khan")
    expect(page.locator("#dose dd")).to_have_text(["1 of 1 offered so far", "0"])
    assert page.locator("#person-sessions tbody tr").all_inner_texts() == [
        "Action learning set meeting (West)\t1 May 2030, 10:00am\tYes"
    ]
    assert meeting_id
