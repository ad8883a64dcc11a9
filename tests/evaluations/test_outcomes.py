"""Outcomes by attendance: endpoint and change by band, the slope, the chart, refusals."""

from datetime import timedelta

import numpy as np
import pytest

from surveyapp.exports.tables import wave_tables
from surveyapp.models import Attendance, ProgrammeSession
from surveyapp.questionnaires.catalogue import questionnaire_of
from surveyapp.scoring import dose, outcomes
from surveyapp.scoring.scales import scale_info
from tests.conftest import NOW
from tests.factories import make_participant, make_programme, make_wave
from tests.scoring.builders import submit_all

#: Sessions each person attended, of seven: eight came often, six seldom.
ATTENDED = [7, 7, 6, 6, 5, 7, 6, 5, 2, 3, 4, 1, 3, 4]


def _d_items(wave):
    questionnaire = questionnaire_of(wave.questionnaire_version)
    (info,) = [info for info in scale_info(questionnaire) if info.id == "part_d_confidence"]
    return info.items


@pytest.fixture
def programme_read(session):
    """Seven set meetings, a baseline and an endpoint; people who came more gained more."""

    def build(
        *, endpoint_privacy="identified", attended=ATTENDED, bands="0-4\n5 or more", teams=None
    ):
        programme = make_programme(session, name="Action learning", reporting_threshold=5)
        teams = teams or ["West"] * len(attended)
        people = [
            make_participant(session, programme, id_number=f"A{n:02d}", team=team)
            for n, team in enumerate(teams, 1)
        ]
        for number in range(7):
            starts = NOW - timedelta(days=70 - number * 10)
            meeting = ProgrammeSession(
                programme=programme,
                kind="als_meeting",
                starts_at=starts,
                ends_at=starts + timedelta(hours=3),
                expected={},
                created_at=NOW,
                updated_at=NOW,
            )
            session.add(meeting)
            for person, count in zip(people, attended, strict=True):
                session.add(
                    Attendance(
                        session=meeting,
                        participant=person,
                        attended=number < count,
                        recorded_at=NOW,
                    )
                )
        dose.save_bands(
            session,
            programme,
            attendance=dose.parse_bands(bands, field="a", what="A"),
            mentoring=[],
        )
        baseline = make_wave(
            session,
            programme,
            key="peer_support_baseline",
            label="Baseline",
            opens_at=NOW - timedelta(days=80),
            closes_at=NOW - timedelta(days=75),
        )
        endpoint = make_wave(
            session,
            programme,
            key="peer_support_endpoint",
            label="Endpoint",
            privacy=endpoint_privacy,
            opens_at=NOW - timedelta(days=2),
            closes_at=NOW + timedelta(days=20),
        )
        items = _d_items(baseline)
        count_of = {p.id: c for p, c in zip(people, attended, strict=True)}
        submit_all(session, baseline, lambda person: {item: 2 for item in items})
        # A point more for those who came to 5 or more, a point more for every other person.
        submit_all(
            session,
            endpoint,
            lambda person: {
                item: _point(count_of[person.id], person.id, index)
                for index, item in enumerate(items)
            },
        )
        session.commit()
        return programme, baseline, endpoint

    return build


def _point(attended: int, person_id: int, index: int) -> int:
    return 2 + (attended >= 5) + person_id % 2 + index % 2


def _scale(read, scale_id="part_d_confidence"):
    return next(scale for scale in read.scales if scale.scale == scale_id)


def test_outcomes_by_attendance_band_with_change_and_the_slope(session, programme_read):
    programme, baseline, endpoint = programme_read()

    read = outcomes.outcomes_by_attendance(session, programme, endpoint, baseline, threshold=5)

    scale = _scale(read)
    rows = {row.band: row for row in scale.rows}
    assert list(rows) == ["All respondents", "0-4", "5 or more"]
    assert (rows["0-4"].n, rows["5 or more"].n, rows["All respondents"].n) == (6, 8, 14)
    assert rows["5 or more"].mean_change > rows["0-4"].mean_change
    assert (
        rows["5 or more"].change_low < rows["5 or more"].mean_change < rows["5 or more"].change_high
    )
    # The slope is the least-squares line of change on sessions attended.
    changes = [
        np.mean([_point(c, pid, i) - 2 for i in range(15)])
        for pid, c in zip(_ids(session, programme), ATTENDED, strict=True)
    ]
    slope, _ = np.polyfit(ATTENDED, changes, 1)
    assert scale.slope.slope == pytest.approx(slope)
    assert scale.slope.ci_low < slope < scale.slope.ci_high
    assert scale.slope.n == 14


def _ids(session, programme):
    from sqlalchemy import select

    from surveyapp.models import Participant

    return session.scalars(
        select(Participant.id)
        .where(Participant.programme_id == programme.id)
        .order_by(Participant.id_number)
    ).all()


def test_a_small_band_is_hidden_and_so_is_the_one_that_would_give_it_away(session, programme_read):
    programme, baseline, endpoint = programme_read(bands="0-1: one or none\n2 or more")

    read = outcomes.outcomes_by_attendance(session, programme, endpoint, baseline, threshold=5)
    full = outcomes.outcomes_by_attendance(
        session, programme, endpoint, baseline, threshold=5, for_evaluator=False
    )

    rows = {row.band: row for row in _scale(read).rows}
    assert rows["one or none"].hidden and rows["one or none"].n is None
    assert rows["one or none"].note == "hidden: fewer than 5 responses"
    assert rows["2 or more"].hidden and rows["2 or more"].mean is None
    assert rows["All respondents"].n == 14
    assert {row.band: row.n for row in _scale(full).rows}["one or none"] == 1


def test_an_anonymous_endpoint_is_refused_with_the_reason(session, client, auth, programme_read):
    programme, baseline, endpoint = programme_read(endpoint_privacy="anonymous")
    auth.login()

    with pytest.raises(outcomes.CannotRead) as refused:
        outcomes.outcomes_by_attendance(session, programme, endpoint, baseline)
    page = client.get(
        f"/admin/programmes/{programme.id}/evaluations/outcomes"
        f"?end={endpoint.id}&base={baseline.id}"
    )

    assert "“Endpoint” is anonymous" in str(refused.value)
    assert page.status_code == 200
    assert "The wave “Endpoint” is anonymous: its answers keep no ID number" in page.text
    assert "Mean change" not in page.text


def test_the_page_shows_the_bands_and_the_chart_downloads_as_png_and_svg(
    session, client, auth, programme_read
):
    programme, baseline, endpoint = programme_read()
    auth.login(email="eva@example.org", role="evaluator")
    url = f"/admin/programmes/{programme.id}/evaluations/outcomes"

    page = client.get(url)
    query = f"?end={endpoint.id}&base={baseline.id}&scale=part_d_confidence"
    png = client.get(f"{url}/chart{query}&measure=change&format=png")
    svg = client.get(f"{url}/chart{query}&measure=change&format=svg")

    assert page.status_code == 200
    assert "Outcomes by attendance" in page.text and "5 or more" in page.text
    assert "Slope of change on sessions attended:" in page.text
    assert page.text.count("app-interval-chart__mean") >= 3
    assert png.status_code == 200 and png.data.startswith(b"\x89PNG")
    assert svg.mimetype == "image/svg+xml" and b"5 or more" in svg.data
    assert "attachment" in png.headers["Content-Disposition"]


def test_a_viewer_and_a_facilitator_may_not_read_outcomes(session, client, auth, programme_read):
    programme, _baseline, _endpoint = programme_read()
    auth.login(email="fac@example.org", role="facilitator")

    assert client.get(f"/admin/programmes/{programme.id}/evaluations/outcomes").status_code == 403


def test_a_band_that_beside_the_team_pages_narrows_to_one_person_is_not_shown(
    session, programme_read
):
    """West holds seven who came often and one who came seldom; East the other way round.

    Each band (8 and 6) and each team (8 and 6) is big enough alone, but the one West
    member under five sessions is a group of one beside the team pages, and a
    facilitator who kept the registers knows who that is.
    """
    teams = ["West"] * 7 + ["East"] + ["West"] + ["East"] * 5
    programme, baseline, endpoint = programme_read(teams=teams)

    read = outcomes.outcomes_by_attendance(session, programme, endpoint, baseline, threshold=5)
    rows = {row.band: row for row in _scale(read).rows}
    assert rows["0-4"].hidden and rows["0-4"].n is None and rows["0-4"].mean_change is None
    assert rows["5 or more"].hidden
    assert rows["All respondents"].n == 14

    # The administrator's own reading is whole.
    full = outcomes.outcomes_by_attendance(
        session, programme, endpoint, baseline, threshold=5, for_evaluator=False
    )
    assert {row.band: row.n for row in _scale(full).rows}["0-4"] == 6

    # The evaluator's file carries bands only where they are safe beside the team, and
    # no exact count of sessions.
    tables = wave_tables(session, endpoint, for_evaluator=True, threshold=5)
    data = tables.data
    assert "sessions_attended" not in data and "attendance_proportion" not in data
    combos = data.groupby(["team", data["attendance_band"].astype(str)], dropna=False).size()
    assert combos.min() >= 5
    assert "left blank where the band is held by too few" in next(
        v.label for v in tables.variables if v.name == "attendance_band"
    )
    full_table = wave_tables(session, endpoint, for_evaluator=False).data
    assert full_table.set_index("id_number").loc["A09", "sessions_attended"] == 2
