"""The flags as columns of every export and of the pack, read back as a statistician would."""

import csv
import io
import zipfile

import pandas as pd
import pyreadstat

from surveyapp.exports import export_wave
from surveyapp.exports.pack import README, build_pack
from tests.conftest import NOW
from tests.factories import make_programme
from tests.quality.helpers import answer_timed
from tests.quality.test_rules import GRID
from tests.scoring.builders import cohort, store_questionnaire, wave_of

FLAGS = [
    "dq_seconds",
    "dq_time_band",
    "dq_speeding",
    "dq_straightlining",
    "dq_unanswered_share",
    "dq_partial",
    "dq_flagged",
]


def _varied(number: int) -> dict:
    """Answers that differ from person to person, never the same on every row."""
    grid = {f"g{i}": 1 + number % 5 for i in range(1, 6)} | {"g6": 1 + (number + 1) % 5}
    return grid | {"short": 2, "months": 5}


def timed_wave(session, *, privacy="identified", speeders=1, teams=None, version=None):
    """A wave of 10 (two teams of 5) on the grid questionnaire: ``speeders`` people of
    North take one minute, everyone else 12; P002 straightlines and skips two questions."""
    programme = make_programme(session, reporting_threshold=5)
    people = cohort(session, teams or {"North": 5, "South": 5}, programme)
    version = version or store_questionnaire(session, GRID, "grid_check")
    wave = wave_of(session, programme, version, privacy=privacy, label="Spring")
    place = {person.id: number for number, person in enumerate(people)}

    def given(person):
        number = place[person.id]
        answers = _varied(number)
        if number == 1:
            answers = {f"g{i}": 4 for i in range(1, 7)} | {"short": None, "months": None}
        return answers, 1 if number < speeders else 12

    answer_timed(session, wave, given)
    session.commit()
    return wave, people


def _sav(tmp_path, exported):
    path = tmp_path / exported.filename
    path.write_bytes(exported.content)
    return pyreadstat.read_sav(str(path))


def test_every_format_carries_the_flags_labelled(session, tmp_path):
    wave, _people = timed_wave(session)
    common = {"for_evaluator": False}

    rows = list(
        csv.DictReader(
            io.StringIO(
                export_wave(
                    session, wave, file_format="csv", layout="wide", **common
                ).content.decode("utf-8-sig")
            )
        )
    )
    assert all(name in rows[0] for name in FLAGS)
    by_person = {row["id_number"]: row for row in rows}
    first, second = sorted(by_person)[:2]
    assert by_person[first]["dq_seconds"] == "60" and by_person[first]["dq_speeding"] == "1"
    assert by_person[second]["dq_seconds"] == "720" and by_person[second]["dq_speeding"] == "0"
    assert by_person[second]["dq_straightlining"] == "1"
    assert by_person[second]["dq_partial"] == "1"  # 6 of 8 answered
    assert float(by_person[second]["dq_unanswered_share"]) == 0.25

    data, meta = _sav(
        tmp_path, export_wave(session, wave, file_format="sav", layout="wide", **common)
    )
    assert list(data.columns[-len(FLAGS) :]) == FLAGS
    labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
    assert labels["dq_speeding"].startswith("Speeding: time taken under a third")
    assert meta.variable_value_labels["dq_speeding"] == {0.0: "No", 1.0: "Yes"}
    assert meta.variable_value_labels["dq_time_band"][8.0] == "10 to 15 minutes"
    assert int(data["dq_flagged"].sum()) == 2

    long, long_meta = _sav(
        tmp_path, export_wave(session, wave, file_format="sav", layout="long", **common)
    )
    assert set(FLAGS) <= set(long.columns)  # repeated on every answer's row
    assert long.groupby("id_number")["dq_speeding"].nunique().max() == 1

    workbook = export_wave(session, wave, file_format="xlsx", layout="wide", **common)
    sheet = pd.read_excel(io.BytesIO(workbook.content), sheet_name="data")
    assert set(FLAGS) <= set(sheet.columns)
    book = pd.read_excel(io.BytesIO(workbook.content), sheet_name="codebook")
    assert "dq_straightlining" in set(book["variable"])

    codebook = export_wave(session, wave, file_format="csv", layout="codebook", **common)
    assert "Partial response: fewer than 80%" in codebook.content.decode("utf-8-sig")


def test_an_anonymous_export_has_bands_and_no_seconds(session, tmp_path):
    wave, _people = timed_wave(session, privacy="anonymous")
    data, meta = _sav(
        tmp_path,
        export_wave(session, wave, file_format="sav", layout="wide", for_evaluator=True),
    )
    assert "dq_seconds" not in data.columns
    assert sorted(data["dq_time_band"].value_counts().items()) == [(2.0, 1), (8.0, 9)]
    assert int(data["dq_speeding"].sum()) == 1


def test_a_file_with_flagged_responses_left_out_says_how_many_and_by_which_rule(session, tmp_path):
    # Five speeders in North: a group the disclosure decision could release on its own.
    wave, _people = timed_wave(session, speeders=5, teams={"North": 10, "South": 5})
    exported = export_wave(
        session, wave, file_format="sav", layout="wide", for_evaluator=True, exclude=("speeding",)
    )
    assert exported.filename.endswith("_flagged_left_out.sav")
    data, meta = _sav(tmp_path, exported)
    assert len(data) == 10 and int(data["dq_speeding"].sum()) == 0
    assert "5 responses flagged for speeding are left out" in " ".join(meta.notes)

    # One speeder in a team of five: leaving them out is refused, and the file says why.
    wave, _people = timed_wave(session, speeders=1, version=wave.questionnaire_version)
    exported = export_wave(
        session, wave, file_format="xlsx", layout="wide", for_evaluator=True, exclude=("speeding",)
    )
    about = pd.read_excel(io.BytesIO(exported.content), sheet_name="about")
    said = " ".join(about["about"])
    assert "not offered for this wave" in said and "Every response is included." in said
    assert len(pd.read_excel(io.BytesIO(exported.content), sheet_name="data")) == 10
    assert "flagged_left_out" not in exported.filename


def test_the_pack_has_the_report_the_flags_and_says_so(session, tmp_path):
    wave, _people = timed_wave(session)
    exported = build_pack(
        session, wave.programme, for_evaluator=True, made_by="Ada (evaluator)", now=NOW
    )
    archive = zipfile.ZipFile(io.BytesIO(exported.content))
    root = exported.filename.removesuffix(".zip")
    files = {name.removeprefix(root + "/"): archive.read(name) for name in archive.namelist()}
    folder = "w1_spring"
    report = pd.read_csv(io.BytesIO(files[f"{folder}/data_quality.csv"]), encoding="utf-8-sig")
    flagged = report.set_index("what").loc["Speeding", "count"]
    assert flagged == 1
    assert b"Data quality: Spring" in files[f"{folder}/data_quality.html"]
    readme = files[README].decode("utf-8")
    assert "data_quality.csv" in readme and "dq_straightlining" in readme
    manifest = files["MANIFEST.sha256"].decode("utf-8")
    assert f"{folder}/data_quality.csv" in manifest and f"{folder}/data_quality.html" in manifest
    path = tmp_path / "wide.dta"
    path.write_bytes(files[f"{folder}/wide.dta"])
    dta, dta_meta = pyreadstat.read_dta(str(path))
    assert set(FLAGS) <= set(dta.columns)
    assert dta_meta.variable_value_labels["dq_partial"] == {0: "No", 1: "Yes"}
