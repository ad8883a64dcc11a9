"""A 40,000-character answer: cut and marked in Excel (cell and codebook), whole in CSV and SPSS."""

import io

import pandas as pd
from openpyxl import load_workbook

from surveyapp.exports import to_csv_bytes, to_sav_bytes, to_xlsx_bytes
from surveyapp.exports.codebook import Variable, codebook_frame

LONG = ("I wrote a great deal about the sessions. " * 1000)[:39_999] + "!"


def _tables():
    data = pd.DataFrame({"id_number": ["P1", "P2"], "comment": [LONG, "Short and sweet"]})
    book = codebook_frame(
        [
            Variable("id_number", "ID number", "string", "nominal", "key", "id_number"),
            Variable("comment", "Anything else", "string", "nominal", "text", "comment"),
        ]
    )
    return data, book


def test_excel_cuts_the_cell_to_its_limit_and_says_so_in_the_cell_and_the_codebook():
    data, book = _tables()

    workbook = load_workbook(io.BytesIO(to_xlsx_bytes({"data": data, "codebook": book})))
    cell = workbook["data"]["B2"].value
    codebook = {row[0].value: row for row in workbook["codebook"].iter_rows(min_row=2)}
    notes = codebook["comment"][10].value

    assert len(cell) == 32_767
    assert cell.endswith("… [cut: 40,000 characters in full in the CSV]")
    assert LONG.startswith(cell.removesuffix("… [cut: 40,000 characters in full in the CSV]"))
    assert workbook["data"]["B3"].value == "Short and sweet"
    assert workbook["codebook"]["K1"].value == "notes"
    assert "1 answer is longer than Excel's limit of 32,767 characters and cut" in notes
    assert "the CSV and .sav files hold them whole" in notes
    assert not codebook["id_number"][10].value


def test_csv_and_sav_keep_the_answer_whole(tmp_path):
    import pyreadstat

    data, book = _tables()
    csv = pd.read_csv(io.BytesIO(to_csv_bytes(data)), encoding="utf-8-sig")
    path = tmp_path / "long.sav"
    path.write_bytes(to_sav_bytes(data, book))
    sav, _meta = pyreadstat.read_sav(str(path))

    assert csv.at[0, "comment"] == LONG
    assert sav.at[0, "comment"] == LONG
