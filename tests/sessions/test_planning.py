"""Planning a programme's sessions in the browser: list, add, change and delete."""

from datetime import datetime

from sqlalchemy import func, select

from surveyapp.models import Attendance, ProgrammeSession
from tests.conftest import NOW
from tests.factories import make_participant, make_programme, make_wave

# NOW is 1 May 2030, 12:00 UTC; UK time is then BST (UTC+1).
FORM = {
    "kind": "als_meeting",
    "other_kind": "",
    "group": "West",
    "title": "Second meeting",
    "day": "14",
    "month": "5",
    "year": "2030",
    "starts": "09:30",
    "ends": "12:00",
    "expect_group": "y",
    "id_numbers": "",
    "notes": "Room 4",
}


def _sessions(session):
    session.expire_all()
    return session.scalars(select(ProgrammeSession).order_by(ProgrammeSession.starts_at)).all()


def test_a_session_is_added_in_uk_time_and_listed(client, auth, session):
    programme = make_programme(session)
    make_participant(session, programme, id_number="A1", region="West")
    session.commit()
    auth.login()

    added = client.post(f"/admin/programmes/{programme.id}/sessions/new", data=FORM)

    assert added.status_code == 303
    [saved] = _sessions(session)
    assert (saved.kind, saved.group, saved.title, saved.notes) == (
        "als_meeting",
        "West",
        "Second meeting",
        "Room 4",
    )
    assert saved.starts_at == datetime(2030, 5, 14, 8, 30)  # 09:30 BST
    assert saved.ends_at == datetime(2030, 5, 14, 11, 0)
    assert saved.expected == {"group": True}
    page = client.get(f"/admin/programmes/{programme.id}/sessions").text
    assert "Action learning set meeting" in page and "14 May 2030, 9:30am to 12:00" in page
    assert "People in West" in page


def test_a_named_kind_and_named_participants(client, auth, session):
    programme = make_programme(session)
    person = make_participant(session, programme, id_number="M7")
    session.commit()
    auth.login()

    form = FORM | {"kind": "other", "other_kind": "Launch event", "group": "", "expect_group": ""}
    added = client.post(
        f"/admin/programmes/{programme.id}/sessions/new", data=form | {"id_numbers": "m7, X9"}
    )
    assert added.status_code == 422
    assert "No one in this programme has the ID number X9" in added.text
    assert _sessions(session) == []

    added = client.post(
        f"/admin/programmes/{programme.id}/sessions/new", data=form | {"id_numbers": "M7"}
    )
    assert added.status_code == 303
    [saved] = _sessions(session)
    assert saved.kind == "Launch event" and saved.expected == {"participant": [person.id]}


def test_bad_dates_and_times_are_named_and_nothing_is_saved(client, auth, session):
    programme = make_programme(session)
    session.commit()
    auth.login()
    url = f"/admin/programmes/{programme.id}/sessions/new"

    cases = {
        "The date must be a real date, like 27 3 2031": FORM | {"day": "31", "month": "2"},
        "The date must include a month": FORM | {"month": ""},
        "Enter the start time as a 24-hour time, like 09:30 or 14:00": FORM | {"starts": "9am"},
        "The end time must be after the start time": FORM | {"ends": "09:00"},
        "Enter the name of the kind of session": FORM | {"kind": "other"},
        "Enter the group, or untick “Only people in this group”": FORM | {"group": ""},
    }
    for message, form in cases.items():
        answer = client.post(url, data=form)
        assert answer.status_code == 422, message
        assert message in answer.text
    assert _sessions(session) == []


def test_a_session_in_the_past_needs_a_tick_and_an_overlap_is_refused(client, auth, session):
    programme = make_programme(session)
    session.commit()
    auth.login()
    url = f"/admin/programmes/{programme.id}/sessions/new"
    past = FORM | {"day": "20", "month": "4"}

    asked = client.post(url, data=past)
    assert asked.status_code == 422
    assert "20 April 2030 at 09:30 has passed." in asked.text
    assert "Yes, this session has already taken place" in asked.text
    assert _sessions(session) == []
    assert client.post(url, data=past | {"confirm_past": "y"}).status_code == 303

    clash = client.post(url, data=past | {"confirm_past": "y", "starts": "11:00", "ends": "13:00"})
    assert clash.status_code == 422
    assert (
        "This overlaps Action learning set meeting (West), 20 April 2030, 09:30 to 12:00, "
        "which has the same group" in clash.text
    )
    other_group = past | {"confirm_past": "y", "group": "East", "starts": "11:00"}
    assert client.post(url, data=other_group).status_code == 303
    assert len(_sessions(session)) == 2


def test_a_session_is_changed_and_deleted_with_its_register(client, auth, session):
    programme = make_programme(session)
    person = make_participant(session, programme)
    session.commit()
    auth.login()
    client.post(f"/admin/programmes/{programme.id}/sessions/new", data=FORM)
    [saved] = _sessions(session)
    base = f"/admin/programmes/{programme.id}/sessions/{saved.id}"

    form = client.get(f"{base}/edit").text
    assert 'value="14"' in form and 'value="09:30"' in form and 'value="West"' in form
    changed = client.post(f"{base}/edit", data=FORM | {"starts": "10:00", "group": "East"})
    assert changed.status_code == 303
    [saved] = _sessions(session)
    assert saved.starts_at == datetime(2030, 5, 14, 9, 0) and saved.group == "East"

    session.add(
        Attendance(session_id=saved.id, participant_id=person.id, attended=True, recorded_at=NOW)
    )
    session.commit()
    asked = client.get(f"{base}/delete").text
    assert "Delete this session?" in asked and "1 person recorded" in asked
    assert client.post(f"{base}/delete").status_code == 303
    assert _sessions(session) == []
    assert session.scalar(select(func.count()).select_from(Attendance)) == 0


def test_a_session_with_an_evaluation_wave_is_not_deleted(client, auth, session):
    programme = make_programme(session)
    session.commit()
    auth.login()
    client.post(f"/admin/programmes/{programme.id}/sessions/new", data=FORM)
    [saved] = _sessions(session)
    wave = make_wave(session, programme, label="After the second meeting")
    wave.session_id = saved.id
    session.commit()

    refused = client.post(f"/admin/programmes/{programme.id}/sessions/{saved.id}/delete")

    assert refused.status_code == 409
    assert "the wave “After the second meeting” evaluates it" in refused.text
    assert len(_sessions(session)) == 1


def test_the_list_is_paged_and_linked_from_the_programme(client, auth, session):
    programme = make_programme(session)
    session.commit()
    auth.login()
    for day in range(1, 28):
        form = FORM | {"day": str(day), "month": "6", "group": f"Set {day}"}
        assert (
            client.post(f"/admin/programmes/{programme.id}/sessions/new", data=form).status_code
            == 303
        )

    first = client.get(f"/admin/programmes/{programme.id}/sessions").text
    second = client.get(f"/admin/programmes/{programme.id}/sessions?page=2").text
    first, second = (page[page.index('id="sessions"') :] for page in (first, second))

    assert "Page 2 of 2" in client.get(f"/admin/programmes/{programme.id}/sessions?page=2").text
    assert "(Set 25)" in first and "(Set 26)" not in first and "(Set 26)" in second
    detail = client.get(f"/admin/programmes/{programme.id}").text
    assert f'href="/admin/programmes/{programme.id}/sessions"' in detail
