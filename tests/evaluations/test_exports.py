"""Every export of a session's wave carries the session; of an identified wave, the dose."""

import io
from datetime import timedelta

import pandas as pd
import pyreadstat
import pytest

from surveyapp.evaluations import operations as evaluation
from surveyapp.exports import export_programme, export_wave
from surveyapp.questionnaires.catalogue import questionnaire_of
from surveyapp.scoring import dose
from tests.conftest import NOW
from tests.evaluations.test_session_waves import _rule, _session, _tick
from tests.factories import make_participant, make_programme
from tests.participant import complete

PEOPLE = 7


@pytest.fixture
def evaluated(session, client):
    """Three set meetings and two mentoring sessions; the last meeting's wave answered by all."""
    programme = make_programme(session, name="Action learning")
    people = [
        make_participant(session, programme, id_number=f"A{n:02d}", team="West")
        for n in range(1, PEOPLE + 1)
    ]

    def build(privacy="identified"):
        _rule(session, programme, privacy=privacy)
        meetings = [_session(session, programme, days_ago=days) for days in (20, 10, 1)]
        for number, meeting in enumerate(meetings):
            _tick(session, meeting, people[: PEOPLE - number])  # A07 misses two, A06 one
        for days in (15, 5):
            mentoring = _session(session, programme, days_ago=days, kind="mentoring", group="")
            _tick(session, mentoring, people[:2])
        dose.save_bands(
            session,
            programme,
            attendance=dose.parse_bands(
                "0-2: fewer than 3 of 3\n3 or more: all 3", field="a", what="A"
            ),
            mentoring=dose.parse_bands(
                "0-1\n2+: 2 or more mentoring sessions", field="m", what="M"
            ),
        )
        session.commit()
        made = evaluation.make_due_waves(session, now=NOW - timedelta(days=9)).made
        made += evaluation.make_due_waves(session, now=NOW).made
        session.commit()
        wave = made[-1]
        questionnaire = questionnaire_of(wave.questionnaire_version)
        for invitation in wave.invitations:
            complete(client, invitation.token, questionnaire)
        session.expire_all()
        return programme, wave

    return build


def _csv(exported) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(exported.content), encoding="utf-8-sig", dtype=str)


def test_an_identified_session_wave_exports_its_session_and_each_persons_dose(
    session, evaluated, tmp_path
):
    programme, wave = evaluated()

    table = _csv(export_wave(session, wave, file_format="csv", for_evaluator=False))

    facts = evaluation.wave_session_facts(session, wave)
    assert table.columns[:7].tolist() == [
        "id_number", "team", "organisation", "region", "role", "session_kind", "session_group",
    ]  # fmt: skip
    row = table.set_index("id_number").loc["A01"]
    assert row["session_kind"] == "Action learning set meeting"
    assert row["session_date"] == facts.day.isoformat()
    assert (row["session_in_series"], row["series_sessions"]) == ("3", "3")
    assert (row["sessions_attended"], row["sessions_offered"]) == ("3", "3")
    assert (row["mentoring_sessions"], row["mentoring_band"]) == ("2", "2")
    assert table.set_index("id_number").loc["A04", "attendance_band"] == "2"
    assert len(table) == 5  # those who came to the third meeting

    sav = export_wave(session, wave, file_format="sav", for_evaluator=False)
    path = tmp_path / "wave.sav"
    path.write_bytes(sav.content)
    data, meta = pyreadstat.read_sav(str(path))
    assert meta.variable_value_labels["attendance_band"] == {1.0: "fewer than 3 of 3", 2.0: "all 3"}
    assert meta.variable_value_labels["mentoring_band"][2.0] == "2 or more mentoring sessions"
    assert meta.column_names_to_labels["session_in_series"].startswith("Number of the session")
    assert meta.column_names_to_labels["sessions_attended"].startswith("Sessions attended")
    assert data["attendance_proportion"].tolist()[0] == 1.0

    book = _csv(
        export_wave(session, wave, file_format="csv", layout="codebook", for_evaluator=False)
    )
    described = book.set_index("variable")
    assert described.loc["attendance_band", "value_labels"] == "1 = fewer than 3 of 3; 2 = all 3"
    assert described.loc["session_date", "label"].startswith("Date of the session evaluated")

    joined = _csv(export_programme(session, programme, file_format="csv", for_evaluator=False))
    assert {"w1_session_date", "w2_session_date", "w2_sessions_attended"} <= set(joined.columns)


def test_an_anonymous_session_wave_carries_only_the_session(session, evaluated):
    _programme, wave = evaluated(privacy="anonymous")

    table = _csv(export_wave(session, wave, file_format="csv", for_evaluator=False))
    long = _csv(export_wave(session, wave, file_format="csv", layout="long", for_evaluator=False))

    assert "id_number" not in table.columns and "respondent" in table.columns
    assert set(table["session_kind"]) == {"Action learning set meeting"}
    assert not {"sessions_attended", "attendance_band", "mentoring_sessions"} & set(table.columns)
    assert "session_date" in long.columns and "sessions_attended" not in long.columns
