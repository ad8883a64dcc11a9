"""File formats: CSV, Excel and SPSS files read back by other programs."""

import csv
import io
import os
import shutil
import subprocess
import zipfile

import numpy as np
import pandas as pd
import pytest

from surveyapp.exports import (
    POOLED,
    export_programme,
    export_wave,
    to_csv_bytes,
    to_sav_bytes,
    to_xlsx_bytes,
    wave_tables,
)
from surveyapp.exports.codebook import Variable, codebook_frame
from tests.conftest import REQUIRE_SERVICES
from tests.factories import make_programme
from tests.scoring.builders import cohort, store_questionnaire, submit_all, wave_of

FORMULA = '=HYPERLINK("http://x","y")'


def _frame():
    data = pd.DataFrame(
        {
            "id_number": ["P1", "-P2", "P3"],
            "score": [-5.0, 2.5, np.nan],
            "code": pd.array([1, None, 9], dtype="Int64"),
            "comment": [FORMULA, "fine\x07 text", "+1 and @me\nnext line"],
        }
    )
    variables = [
        Variable("id_number", "ID number", "string", "nominal", "key", "id_number"),
        Variable("score", "A score", "numeric", "scale", "score", "score"),
        Variable(
            "code",
            "How much",
            "numeric",
            "ordinal",
            "answer",
            "code",
            {1: "Not at all", 9: "Does not apply"},
            (9,),
            is_integer=True,
        ),
        Variable("comment", "Anything else", "string", "nominal", "text", "comment"),
    ]
    return data, codebook_frame(variables)


# -- CSV ---------------------------------------------------------------------------------


def test_csv_is_utf8_with_bom_and_neutralises_text_only():
    data, _book = _frame()

    content = to_csv_bytes(data)
    read = pd.read_csv(io.BytesIO(content), encoding="utf-8-sig", dtype=str, keep_default_na=False)

    assert content.startswith(b"\xef\xbb\xbf")
    assert read.at[0, "comment"] == "'" + FORMULA
    assert read.at[2, "comment"] == "'+1 and @me\nnext line"
    assert read.at[1, "comment"] == "fine text"
    assert read.at[1, "id_number"] == "'-P2"
    # Numbers are never touched, negative ones included.
    assert read["score"].tolist() == ["-5.0", "2.5", ""]
    assert read["code"].tolist() == ["1", "", "9"]


def test_codebook_csv_writes_codes_as_text():
    _data, book = _frame()

    read = pd.read_csv(io.BytesIO(to_csv_bytes(book)), encoding="utf-8-sig", keep_default_na=False)
    row = read.set_index("variable").loc["code"]

    assert row["value_labels"] == "1 = Not at all; 9 = Does not apply"
    assert str(row["missing_values"]) == "9"
    assert row["measurement"] == "ordinal"


# -- Excel -------------------------------------------------------------------------------


def test_xlsx_has_the_sheets_and_a_formula_arrives_as_text():
    from openpyxl import load_workbook

    data, book = _frame()

    content = to_xlsx_bytes(
        {"data": data, "scores": data[["id_number", "score"]], "codebook": book}
    )
    workbook = load_workbook(io.BytesIO(content))
    sheet = workbook["data"]

    assert workbook.sheetnames == ["data", "scores", "codebook"]
    assert [cell.value for cell in sheet[1]] == ["id_number", "score", "code", "comment"]
    cell = sheet["D2"]
    assert cell.data_type == "s" and cell.value == "'" + FORMULA
    assert sheet["B2"].value == -5 and sheet["B4"].value is None
    assert sheet["C2"].value == 1 and sheet["C3"].value is None
    assert sheet["D3"].value == "fine text"
    assert workbook["codebook"]["E4"].value == "1 = Not at all; 9 = Does not apply"
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        xml = "".join(archive.read(name).decode() for name in archive.namelist())
    assert "<f>" not in xml


# -- SPSS --------------------------------------------------------------------------------


def test_sav_reads_back_with_labels_codes_and_the_same_values(tmp_path):
    import pyreadstat

    data, book = _frame()
    path = tmp_path / "export.sav"

    path.write_bytes(to_sav_bytes(data, book, file_label="Baseline"))
    read, meta = pyreadstat.read_sav(str(path), user_missing=True)

    assert meta.column_names == ["id_number", "score", "code", "comment"]
    assert meta.column_names_to_labels["code"] == "How much"
    assert meta.variable_value_labels["code"] == {1.0: "Not at all", 9.0: "Does not apply"}
    assert meta.missing_ranges["code"] == [{"lo": 9.0, "hi": 9.0}]
    assert meta.variable_measure["code"] == "ordinal"
    assert meta.variable_measure["score"] == "scale"
    assert read["score"].tolist()[:2] == [-5.0, 2.5] and np.isnan(read.at[2, "score"])
    assert read.at[0, "code"] == 1 and np.isnan(read.at[1, "code"]) and read.at[2, "code"] == 9
    # SPSS files are not spreadsheets: text stays as typed, without control characters.
    assert read["comment"].tolist() == [FORMULA, "fine text", "+1 and @me\nnext line"]
    assert read["id_number"].tolist() == ["P1", "-P2", "P3"]


def test_sav_shortens_labels_spss_cannot_hold(tmp_path):
    import pyreadstat

    data = pd.DataFrame({"q": [1.0]})
    long = "é" * 300
    book = codebook_frame([Variable("q", long, "numeric", "ordinal", "answer", "q", {1: long})])
    path = tmp_path / "long.sav"

    path.write_bytes(to_sav_bytes(data, book))
    _read, meta = pyreadstat.read_sav(str(path))

    assert len(meta.column_names_to_labels["q"].encode()) <= 255
    assert meta.column_names_to_labels["q"].endswith("…")
    assert len(meta.variable_value_labels["q"][1.0].encode()) <= 120


# -- whole exports -----------------------------------------------------------------------


def _crafted_wave(session):
    """A wave where one team has 4 respondents; names and emails to look for afterwards."""
    programme = make_programme(session, name="Pilot programme")
    people = cohort(session, {"North": 8, "South": 6, "Riverside": 4}, programme)
    wave = wave_of(session, programme, store_questionnaire(session), label="Baseline")
    values = {
        "North": [2, 3, 2, 3, 2, 3, 2, 3],
        "South": [4, 4, 5, 4, 4, 5],
        "Riverside": [1, 1, 1, 1],
    }
    given = {}
    for team, codes in values.items():
        for person, code in zip([p for p in people if p.team == team], codes, strict=True):
            given[person.id] = {
                "q1": code,
                "q2": code,
                "q3": 6 - code,
                "q4": code,
                "r1": code,
                "r2": code,
                "comment": FORMULA if team == "North" else "text",
            }
    # One "does not apply": user-missing in SPSS, not answered in the scores.
    given[people[0].id]["q1"] = 9
    submit_all(session, wave, lambda person: given[person.id])
    return programme, people, wave


def test_every_format_keeps_names_and_emails_out(session):
    programme, people, wave = _crafted_wave(session)

    files = [
        export_wave(session, wave, file_format=fmt, layout=layout, for_evaluator=for_evaluator)
        for fmt in ("csv", "xlsx", "sav")
        for layout in ("wide", "long")
        for for_evaluator in (True, False)
    ] + [export_programme(session, programme, file_format="xlsx", for_evaluator=False)]

    for file in files:
        text = _readable_text(file.content)
        for person in people:
            assert person.name not in text and person.email not in text, file.filename
    assert files[0].filename == "pilot_programme_baseline_wide_suppressed.csv"
    assert files[1].filename == "pilot_programme_baseline_wide_full.csv"


def _readable_text(content: bytes) -> str:
    if content.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return "".join(archive.read(name).decode("utf-8") for name in archive.namelist())
    return content.decode("utf-8", errors="ignore")


def test_team_of_four_is_hidden_in_csv_excel_and_sav(session, tmp_path):
    import pyreadstat
    from openpyxl import load_workbook

    _programme, _people, wave = _crafted_wave(session)

    csv = export_wave(session, wave, file_format="csv", for_evaluator=True)
    xlsx = export_wave(session, wave, file_format="xlsx", for_evaluator=True)
    sav = export_wave(session, wave, file_format="sav", for_evaluator=True)
    (tmp_path / "wave.sav").write_bytes(sav.content)
    from_sav, _meta = pyreadstat.read_sav(str(tmp_path / "wave.sav"))
    from_csv = pd.read_csv(io.BytesIO(csv.content), encoding="utf-8-sig")
    sheet = load_workbook(io.BytesIO(xlsx.content))["data"]
    from_xlsx = pd.DataFrame(list(sheet.values)[1:], columns=[c.value for c in sheet[1]])

    for table in (from_csv, from_xlsx, from_sav):
        assert set(table["team"]) == {"North", POOLED}
        # The pooled group holds 10 people: Riverside's 4 cannot be told apart from South's 6,
        # and the total minus North gives only the pooled group back.
        pooled = table[table["team"] == POOLED]
        assert len(pooled) == 10
        north = table.loc[table["team"] == "North", "q1"]
        assert table["q1"].sum() - north.sum() == pytest.approx(pooled["q1"].sum())
    assert b"Riverside" not in sav.content and b"Riverside" not in csv.content
    assert "Riverside" not in _readable_text(xlsx.content)


def test_excel_export_has_data_scores_and_codebook_sheets(session):
    from openpyxl import load_workbook

    _programme, _people, wave = _crafted_wave(session)

    xlsx = export_wave(session, wave, file_format="xlsx", for_evaluator=False)
    workbook = load_workbook(io.BytesIO(xlsx.content))

    assert workbook.sheetnames == ["about", "data", "scores", "codebook"]
    header = [cell.value for cell in workbook["data"][1]]
    comments = [
        row[header.index("comment")]
        for row in workbook["data"].iter_rows(min_row=2, values_only=True)
    ]
    assert "'" + FORMULA in comments
    assert [cell.value for cell in workbook["scores"][1]][:2] == ["id_number", "team"]
    assert "agree_mean" in [cell.value for cell in workbook["scores"][1]]
    book_header = [cell.value for cell in workbook["codebook"][1]]
    assert book_header[:6] == [
        "variable",
        "label",
        "type",
        "measurement",
        "value_labels",
        "missing_values",
    ]


def test_sav_export_reads_back_with_the_codebook(session, tmp_path):
    import pyreadstat

    _programme, _people, wave = _crafted_wave(session)
    tables = wave_tables(session, wave, for_evaluator=False)

    sav = export_wave(session, wave, file_format="sav", for_evaluator=False)
    (tmp_path / "wave.sav").write_bytes(sav.content)
    read, meta = pyreadstat.read_sav(str(tmp_path / "wave.sav"), user_missing=True)

    assert meta.column_names == list(tables.data.columns)
    assert meta.column_names_to_labels["r1"] == "How confident are you – Row one"
    assert meta.variable_value_labels["q1"][9.0] == "Does not apply"
    assert meta.variable_value_labels["kind"][96.0] == "Another kind"
    assert meta.missing_ranges["q1"] == [{"lo": 9.0, "hi": 9.0}]
    assert meta.variable_measure["agree_mean"] == "scale"
    assert meta.variable_measure["kind"] == "nominal"
    assert read["id_number"].tolist() == tables.data["id_number"].tolist()
    assert read["agree_mean"].tolist() == pytest.approx(tables.data["agree_mean"].tolist())
    assert read["q1"].tolist() == tables.data["q1"].astype(float).tolist()


def test_long_sav_has_its_own_codebook(session, tmp_path):
    import pyreadstat

    _programme, _people, wave = _crafted_wave(session)

    sav = export_wave(session, wave, file_format="sav", layout="long", for_evaluator=False)
    (tmp_path / "long.sav").write_bytes(sav.content)
    read, meta = pyreadstat.read_sav(str(tmp_path / "long.sav"))

    assert meta.column_names[-5:] == [
        "variable",
        "answer_id",
        "value_number",
        "value_text",
        "value_label",
    ]
    # Seven answers each, and the four flags of the multiple choice nobody ticked (0).
    assert len(read) == 18 * 11


def test_unknown_format_or_layout_is_refused(session):
    _programme, _people, wave = _crafted_wave(session)

    with pytest.raises(ValueError, match="format"):
        export_wave(session, wave, file_format="pdf", for_evaluator=True)
    with pytest.raises(ValueError, match="layout"):
        export_wave(session, wave, file_format="csv", layout="tall", for_evaluator=True)


# -- GNU PSPP ----------------------------------------------------------------------------

PSPP = shutil.which("pspp")


def test_pspp_reads_the_sav_and_finds_the_same_means(session, tmp_path):
    if PSPP is None:
        message = "GNU PSPP is not installed (Debian package: pspp)"
        if REQUIRE_SERVICES:
            pytest.fail(f"{message}; required because SURVEYAPP_TEST_REQUIRE_SERVICES=1")
        pytest.skip(message)
    _programme, _people, wave = _crafted_wave(session)
    tables = wave_tables(session, wave, for_evaluator=False)
    sav = tmp_path / "wave.sav"
    sav.write_bytes(export_wave(session, wave, file_format="sav", for_evaluator=False).content)
    variables = ["q1", "q3", "r1", "agree_mean", "agree_sum", "grid_score"]
    syntax = tmp_path / "means.sps"
    syntax.write_text(
        f"GET FILE='{sav}'.\n"
        "SET TVARS=NAMES.\n"
        f"DESCRIPTIVES VARIABLES={' '.join(variables)} /STATISTICS=MEAN.\n"
        "COMPUTE all_rows = 1.\n"
        "AGGREGATE OUTFILE=* /BREAK=all_rows "
        + " ".join(f"/{name}=MEAN({name})" for name in variables)
        + ".\n"
        f"SAVE TRANSLATE /OUTFILE='{tmp_path / 'means.csv'}' /TYPE=CSV /FIELDNAMES /REPLACE.\n",
        encoding="utf-8",
    )

    run = subprocess.run(
        [PSPP, "-O", "format=csv", "-o", str(tmp_path / "descriptives.csv"), str(syntax)],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ | {"LC_ALL": "C.UTF-8"},
    )

    assert run.returncode == 0, run.stdout + run.stderr
    exact = pd.read_csv(tmp_path / "means.csv").iloc[0]
    printed = (tmp_path / "descriptives.csv").read_text(encoding="utf-8")
    missing = tables.codebook.set_index("variable")["missing_values"]
    for name in variables:
        values = tables.data[name].astype(float)
        values = values[~values.isin(missing[name])].dropna()
        assert exact[name] == pytest.approx(values.mean(), abs=1e-9), name
        # DESCRIPTIVES prints N and the mean with two decimals.
        assert f"{name},{len(values)},{values.mean():.2f}" in printed, printed
    assert "q1,17," in printed


def test_wave_without_responses_exports_headers_in_every_format(session, tmp_path):
    import pyreadstat

    programme = make_programme(session)
    cohort(session, {"North": 3}, programme)
    wave = wave_of(session, programme, store_questionnaire(session))

    for fmt in ("csv", "xlsx", "sav"):
        for layout in ("wide", "long"):
            file = export_wave(session, wave, file_format=fmt, layout=layout, for_evaluator=True)
            assert file.content, (fmt, layout)
    sav = export_wave(session, wave, file_format="sav", for_evaluator=True)
    (tmp_path / "empty.sav").write_bytes(sav.content)
    read, meta = pyreadstat.read_sav(str(tmp_path / "empty.sav"))
    assert len(read) == 0 and meta.column_names[0] == "id_number"


def test_suppressed_and_full_files_are_named_apart_and_say_which_they_are(session, tmp_path):
    import pyreadstat
    from openpyxl import load_workbook

    _programme, _people, wave = _crafted_wave(session)

    def export(file_format, layout, for_evaluator):
        return export_wave(
            session, wave, file_format=file_format, layout=layout, for_evaluator=for_evaluator
        )

    names = {
        (fmt, layout, hidden): export(fmt, layout, hidden).filename
        for fmt in ("csv", "xlsx", "sav")
        for layout in ("wide", "long")
        for hidden in (True, False)
    }
    assert names[("csv", "wide", True)] == "pilot_programme_baseline_wide_suppressed.csv"
    assert names[("csv", "wide", False)] == "pilot_programme_baseline_wide_full.csv"
    assert names[("sav", "long", False)] == "pilot_programme_baseline_long_full.sav"
    assert len(set(names.values())) == len(names)

    for hidden, says in ((True, "Small groups hidden (suppressed file)"), (False, "Full file")):
        workbook = load_workbook(io.BytesIO(export("xlsx", "wide", hidden).content))
        assert workbook.sheetnames[0] == "about"
        assert workbook["about"]["A2"].value.startswith(says)
        book = export("csv", "codebook", hidden)
        first_row = next(csv.DictReader(io.StringIO(book.content.decode("utf-8-sig"))))
        assert first_row["variable"] == "(this file)" and first_row["label"].startswith(says)
        target = tmp_path / f"{hidden}.sav"
        target.write_bytes(export("sav", "wide", hidden).content)
        _frame, meta = pyreadstat.read_sav(str(target), metadataonly=True)
        assert " ".join(meta.notes).startswith(says)
        assert ("small groups hidden" in meta.file_label) is hidden


def test_the_codebook_has_no_spss_file():
    from surveyapp.exports import check_choice, formats_for

    assert formats_for("codebook") == ("csv", "xlsx")
    assert formats_for("wide") == formats_for("long") == ("csv", "xlsx", "sav")
    with pytest.raises(ValueError, match="Choose CSV or Excel for the codebook"):
        check_choice("sav", "codebook")


def test_dta_keeps_long_labelled_names_within_statas_limits(tmp_path):
    import pyreadstat

    from surveyapp.exports.codebook import Variable, codebook_frame
    from surveyapp.exports.formats import to_dta_bytes

    long_name = "a_rather_long_variable_name_of_32c"[:32]
    variables = [
        Variable(long_name, "Labelled", "numeric", "ordinal", "answer", "x", {1: "Yes"}),
        Variable("b" * 40, "Plain", "numeric", "scale", "answer", "y"),
    ]
    frame = pd.DataFrame({long_name: [1, 2], "b" * 40: [3.5, None]})
    path = tmp_path / "file.dta"
    path.write_bytes(to_dta_bytes(frame, codebook_frame(variables)))

    read, meta = pyreadstat.read_dta(str(path))
    assert list(read.columns) == [long_name[:28], "b" * 32]
    assert read[long_name[:28]].tolist() == [1, 2]
    assert meta.variable_value_labels[long_name[:28]] == {1: "Yes"}
