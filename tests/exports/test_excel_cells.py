"""Excel through xlsxwriter (constant memory): the cells read back as the former
openpyxl writer left them, hostile text included."""

import io

import pandas as pd
from openpyxl import Workbook, load_workbook

from surveyapp.exports import export_tables, export_wave, to_xlsx_bytes, wave_tables
from surveyapp.exports.formats import (
    _SHEET_NAME,
    EXCEL_MAX_CELL,
    _cell,
    excel_text,
    for_spreadsheet,
    with_cut_notes,
)
from tests.factories import make_programme
from tests.scoring.builders import cohort, store_questionnaire, submit_all, wave_of

HOSTILE = [
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://x","y")',
    "+44 20 7946 0000",
    "-2+3",
    "@SUM(A1:A2)",
    "\tleading tab",
    "\rleading return",
    "bell\x07 and escape\x1b inside",
    "line one\nline two",
    "plain words",
    "",
    "x" * (EXCEL_MAX_CELL + 10),
]


def _former_xlsx(sheets) -> bytes:
    """The workbook as the openpyxl writer made it before (write-only, frozen header)."""
    workbook = Workbook(write_only=True)
    cut: dict[str, int] = {}
    for name, frame in sheets.items():
        sheet = workbook.create_sheet(_SHEET_NAME.sub("_", str(name))[:31] or "sheet")
        sheet.freeze_panes = "A2"
        sheet.append([str(column) for column in frame.columns])
        if name == "codebook" and cut:
            frame = with_cut_notes(frame, cut)
        ready = for_spreadsheet(frame).astype(object)
        ready = ready.where(ready.notna(), None)
        columns = [str(column) for column in frame.columns]
        for row in ready.itertuples(index=False, name=None):
            cells = [_cell(value) for value in row]
            for index, value in enumerate(cells):
                if isinstance(value, str) and len(value) > EXCEL_MAX_CELL:
                    cells[index] = excel_text(value)
                    cut[columns[index]] = cut.get(columns[index], 0) + 1
            sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _cells(content: bytes) -> dict[str, list[tuple]]:
    workbook = load_workbook(io.BytesIO(content))
    found = {}
    for sheet in workbook.worksheets:
        assert sheet.freeze_panes == "A2"
        found[sheet.title] = [
            tuple(None if value == "" else value for value in row)
            for row in sheet.iter_rows(values_only=True)
        ]
    return found


def _hostile_wave(session):
    programme = make_programme(session, name="Hostile programme")
    cohort(session, {"North": 8, "South": 6}, programme)
    wave = wave_of(session, programme, store_questionnaire(session), label="Baseline")
    texts = iter(HOSTILE * 2)

    def answers(person):
        code = 1 + person.id % 5
        return {"q1": code, "q2": code, "q3": 6 - code, "q4": code, "r1": code, "r2": code,
                "comment": next(texts)}  # fmt: skip

    submit_all(session, wave, answers)
    return wave


def test_excel_cells_read_back_as_before_with_hostile_text(session):
    wave = _hostile_wave(session)
    tables = wave_tables(session, wave, for_evaluator=False)
    for layout in ("wide", "long"):
        data = tables.data if layout == "wide" else tables.long()
        sheets = {"about": pd.DataFrame({"about": ["Full file."]}), "data": data,
                  "scores": tables.scores(), "codebook": tables.codebook}  # fmt: skip
        now, before = _cells(to_xlsx_bytes(sheets)), _cells(_former_xlsx(sheets))
        assert list(now) == list(before) == ["about", "data", "scores", "codebook"]
        for name in now:
            assert now[name] == before[name], (layout, name)
    written = _cells(export_tables(tables, "x", file_format="xlsx", layout="wide").content)
    column = written["data"][0].index("comment")
    shown = {row[column] for row in written["data"][1:]}
    assert "'=cmd|' /C calc'!A0" in shown and "'+44 20 7946 0000" in shown
    assert "'-2+3" in shown and "'@SUM(A1:A2)" in shown
    assert "bell and escape inside" in shown
    assert not any(isinstance(value, str) and value.startswith(("=", "+", "-", "@"))
                   for value in shown)  # fmt: skip


def test_excel_export_keeps_formulas_as_text_on_read_back(session):
    wave = _hostile_wave(session)
    content = export_wave(session, wave, file_format="xlsx", for_evaluator=False).content
    workbook = load_workbook(io.BytesIO(content))
    sheet = workbook["data"]
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type != "f"
