"""The register of a session: who is on it, ticks saved one row at a time or all at once."""

from datetime import timedelta

from sqlalchemy import select

from surveyapp.models import Attendance, AuditEvent, ProgrammeSession
from tests.conftest import NOW
from tests.factories import make_participant, make_programme

HTMX = {"HX-Request": "true"}


def _meeting(session, programme, **expected):
    found = ProgrammeSession(
        programme=programme,
        kind="als_meeting",
        group="West",
        starts_at=NOW - timedelta(hours=3),
        ends_at=NOW - timedelta(hours=1),
        expected=expected,
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(found)
    session.flush()
    return found


def _recorded(session, meeting):
    session.expire_all()
    return {
        row.participant.id_number: row.attended
        for row in session.scalars(select(Attendance).where(Attendance.session_id == meeting.id))
    }


def test_the_register_lists_who_is_expected_and_saves_the_ticks(client, auth, session):
    programme = make_programme(session)
    amira = make_participant(session, programme, id_number="W1", name="Amira", region="West")
    ben = make_participant(session, programme, id_number="W2", name="Ben", region="West")
    make_participant(session, programme, id_number="E1", name="Esther", region="East")
    meeting = _meeting(session, programme, group=True)
    session.commit()
    auth.login()
    url = f"/admin/programmes/{programme.id}/sessions/{meeting.id}/register"

    page = client.get(url).text
    assert "Amira" in page and "Ben" in page and "Esther" not in page
    assert "2 people on the register" in page

    saved = client.post(url, data={"came": [str(amira.id)]})

    assert saved.status_code == 303
    assert _recorded(session, meeting) == {"W1": True, "W2": False}
    assert "Register saved: 1 came." in client.get(url).text
    assert ben.id


def test_one_tick_is_saved_alone_and_its_row_says_so(client, auth, session):
    programme = make_programme(session)
    amira = make_participant(session, programme, id_number="W1")
    ben = make_participant(session, programme, id_number="W2")
    meeting = _meeting(session, programme)
    session.commit()
    auth.login()
    base = f"/admin/programmes/{programme.id}/sessions/{meeting.id}/register"

    ticked = client.post(f"{base}/{amira.id}", data={"came": [str(amira.id)]}, headers=HTMX)
    assert ticked.status_code == 200
    assert ticked.text.startswith(
        f'<td class="govuk-table__cell govuk-body-s" id="status-{amira.id}"'
    )
    assert "Saved: came" in ticked.text
    assert _recorded(session, meeting) == {"W1": True}

    # The whole form is sent by htmx; only this row's box counts.
    unticked = client.post(f"{base}/{amira.id}", data={"came": [str(ben.id)]}, headers=HTMX)
    assert "Saved: did not come" in unticked.text
    assert _recorded(session, meeting) == {"W1": False}
    events = session.scalars(
        select(AuditEvent.summary).where(AuditEvent.action == "register.change")
    )
    assert list(events)[-1].endswith("marked as did not come")


def test_someone_not_expected_is_added_by_id_number_and_strangers_are_refused(
    client, auth, session
):
    programme = make_programme(session)
    other = make_programme(session)
    make_participant(session, programme, id_number="W1", region="West")
    drop_in = make_participant(session, programme, id_number="E7", region="East")
    outsider = make_participant(session, other, id_number="Z1")
    meeting = _meeting(session, programme, group=True)
    session.commit()
    auth.login()
    url = f"/admin/programmes/{programme.id}/sessions/{meeting.id}/register"

    unknown = client.post(url, data={"someone_else": "Z1"})
    assert unknown.status_code == 422
    assert "No one in this programme has the ID number Z1" in unknown.text
    stranger = client.post(url, data={"came": [str(outsider.id)]})
    assert stranger.status_code == 422
    assert "Someone ticked is not on this register" in stranger.text
    refused = client.post(f"{url}/{outsider.id}", data={"came": [str(outsider.id)]})
    assert refused.status_code == 409
    assert _recorded(session, meeting) == {}

    added = client.post(url, data={"someone_else": " e7 "})
    assert added.status_code == 303
    assert _recorded(session, meeting) == {"W1": False, "E7": True}
    page = client.get(url).text
    assert "Not expected" in page and "E7" in page
    assert drop_in.id


def test_nobody_can_have_come_to_a_session_not_started_and_names_are_escaped(client, auth, session):
    programme = make_programme(session)
    person = make_participant(session, programme, id_number="W1", name="<b>Amira</b>")
    meeting = _meeting(session, programme)
    meeting.starts_at, meeting.ends_at = NOW + timedelta(days=1), NOW + timedelta(days=1, hours=2)
    session.commit()
    auth.login()
    url = f"/admin/programmes/{programme.id}/sessions/{meeting.id}/register"

    page = client.get(url).text
    assert "This session has not started yet." in page
    assert "&lt;b&gt;Amira&lt;/b&gt;" in page and "<b>Amira</b>" not in page
    refused = client.post(url, data={"came": [str(person.id)]})
    assert refused.status_code == 422
    assert "nobody can have come" in refused.text
    one = client.post(f"{url}/{person.id}", data={"came": [str(person.id)]}, headers=HTMX)
    assert one.status_code == 422 and "Not saved: This session has not started yet" in one.text
    assert _recorded(session, meeting) == {}


def test_a_persons_page_links_to_their_sessions(client, auth, session):
    programme = make_programme(session)
    person = make_participant(session, programme, id_number="W1", name="Amira")
    meeting = _meeting(session, programme)
    session.add(
        Attendance(session_id=meeting.id, participant_id=person.id, attended=True, recorded_at=NOW)
    )
    session.commit()
    auth.login()

    details = client.get(f"/admin/programmes/{programme.id}/participants/{person.id}").text
    link = f"/admin/programmes/{programme.id}/attendance/{person.id}"
    assert f'href="{link}">Sessions of this person' in details
    page = client.get(link).text
    assert "1 of 1 offered so far" in page and "Action learning set meeting (West)" in page
