"""Each person's dose of a programme: sessions attended out of offered, and mentoring had."""

from datetime import timedelta

from surveyapp.models import Attendance, DoseBands, ProgrammeSession
from surveyapp.sessions.operations import Dose, attendance_by_person, expected_participants
from tests.conftest import NOW
from tests.factories import make_participant, make_programme


def _session(session, programme, kind="als_meeting", days=0, **values):
    row = ProgrammeSession(
        programme=programme,
        kind=kind,
        starts_at=NOW + timedelta(days=days),
        ends_at=NOW + timedelta(days=days, hours=2),
        expected=values.pop("expected", {}),
        created_at=NOW,
        updated_at=NOW,
        **values,
    )
    session.add(row)
    session.flush()
    return row


def _came(session, programme_session, *people, attended=True):
    for person in people:
        session.add(
            Attendance(
                session=programme_session,
                participant_id=person.id,
                attended=attended,
                recorded_at=NOW,
            )
        )
    session.flush()


def test_attended_out_of_offered_and_mentoring_had(session):
    programme = make_programme(session)
    west = make_participant(session, programme, region="West", role="Set member")
    east = make_participant(session, programme, region="East", role="Set member")
    mentor = make_participant(session, programme, region="West", role="Mentor")
    members_west = {"group": True, "role": ["set member"]}
    launch = _session(session, programme, kind="training", days=-30)
    first = _session(session, programme, days=-20, group="West", expected=members_west)
    second = _session(session, programme, days=-10, group="West", expected=members_west)
    east_first = _session(session, programme, days=-20, group="East", expected={"group": True})
    pair = _session(
        session, programme, kind="mentoring", days=-5, expected={"participant": [west.id]}
    )
    _came(session, launch, west, east, mentor)
    _came(session, first, west)
    _came(session, second, west, attended=False)
    _came(session, east_first, east)
    _came(session, pair, west)

    doses = attendance_by_person(session, programme)

    assert doses[west.id] == Dose(attended=2, offered=3, mentoring=1)
    assert doses[east.id] == Dose(attended=2, offered=2, mentoring=0)
    assert doses[mentor.id] == Dose(attended=1, offered=1, mentoring=0)
    assert doses[west.id].proportion == 2 / 3
    assert [p.id for p in expected_participants(session, first)] == [west.id]


def test_sessions_not_yet_started_are_not_offered_when_now_is_given(session):
    programme = make_programme(session)
    person = make_participant(session, programme)
    _came(session, _session(session, programme, days=-1), person)
    _session(session, programme, days=7)

    assert attendance_by_person(session, programme)[person.id] == Dose(1, 2, 0)
    assert attendance_by_person(session, programme, now=NOW)[person.id] == Dose(1, 1, 0)


def test_the_programme_names_its_mentoring_kind_and_withdrawn_people_are_not_offered(session):
    programme = make_programme(session)
    session.add(DoseBands(programme_id=programme.id, mentoring_kind="Coaching call"))
    stays = make_participant(session, programme)
    leaves = make_participant(session, programme, withdrawn_at=NOW - timedelta(days=15))
    _came(session, _session(session, programme, kind="Coaching call", days=-3), stays)
    _session(session, programme, days=-20)
    _session(session, programme, days=-10)

    doses = attendance_by_person(session, programme)

    assert doses[stays.id] == Dose(attended=0, offered=2, mentoring=1)
    assert doses[leaves.id] == Dose(attended=0, offered=1, mentoring=0)
    assert doses[leaves.id].proportion == 0
    assert Dose(0, 0, 0).proportion is None
