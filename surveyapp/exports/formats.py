"""File formats: the only place that turns export tables into bytes (CSV, Excel, SPSS).

Flask-free. Layout is decided in ``tables``; this module only writes.

Text is made safe on the way out, in text columns only (numbers are never
touched):

- control characters that Excel and SPSS refuse (everything below a space
  except tab, line feed and carriage return, and DEL) are removed, in every
  format;
- in CSV and Excel, a cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or
  a carriage return gets a leading apostrophe, so a spreadsheet shows it as
  text instead of running it as a formula.

Codebook cells holding value labels (a dict) or missing values (a list) are
written as text: ``1 = Strongly disagree; 2 = Disagree``.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from surveyapp.errors import SurveyError
from surveyapp.exports.codebook import SAV_VALUE_LABEL_BYTES, cut_to_bytes, sav_label
from surveyapp.text import CONTROL_CHARACTERS, FORMULA_START

EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLUMNS = 16_384
#: The most characters an Excel cell holds; a longer text is cut, and says so (``excel_text``).
EXCEL_MAX_CELL = 32_767
#: SPSS keeps at most this many bytes of a file label (of variable and value labels: see
#: ``codebook.sav_label``).
SAV_FILE_LABEL_BYTES = 64

CSV_MIMETYPE = "text/csv; charset=utf-8"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SAV_MIMETYPE = "application/x-spss-sav"


class ExportTooLarge(SurveyError):
    """The table does not fit the file format; the message says what to choose instead."""


# -- text safety -------------------------------------------------------------------------


def _text_columns(frame: pd.DataFrame) -> list[str]:
    return [
        column
        for column in frame.columns
        if frame[column].dtype == object or isinstance(frame[column].dtype, pd.StringDtype)
    ]


def without_control_characters(column: pd.Series) -> pd.Series:
    """Remove the control characters Excel and SPSS refuse from the texts of a column."""
    text = column.astype(object)
    is_text = text.map(type) == str  # noqa: E721 - exactly str: numbers stay as they are
    cleaned = text[is_text].str.replace(CONTROL_CHARACTERS, "", regex=True)
    return text.where(~is_text, cleaned)


def neutralised(column: pd.Series) -> pd.Series:
    """Clean a text column and put an apostrophe before any cell a spreadsheet would run."""
    text = without_control_characters(column)
    is_text = text.map(type) == str  # noqa: E721
    risky = is_text & text.where(is_text, "").str.startswith(FORMULA_START)
    return text.where(~risky, "'" + text.where(risky, ""))


def _rendered(value) -> object:
    if isinstance(value, Mapping):
        return "; ".join(f"{_number_text(code)} = {label}" for code, label in value.items())
    if isinstance(value, list | tuple):
        return "; ".join(_number_text(code) for code in value)
    return value


def _number_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def for_spreadsheet(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy ready for CSV or Excel: codebook cells as text, text columns neutralised."""
    frame = frame.copy()
    for column in _text_columns(frame):
        frame[column] = _spreadsheet_text(frame[column])
    return frame


def _spreadsheet_text(column: pd.Series) -> pd.Series:
    """Neutralise one column (codebook cells rendered as text first)."""
    if pd.api.types.infer_dtype(column, skipna=True) != "string":
        return neutralised(column.map(_rendered))
    return each_distinct(column, neutralised)


def each_distinct(column: pd.Series, clean) -> pd.Series:
    """Apply ``clean`` (a Series -> Series function) to each distinct value of a column once.

    A team's name, an item's label or an answer code repeats in every row of a wide or
    long file: cleaning the distinct values and putting them back is many times faster
    than cleaning every cell. Missing values stay missing.
    """
    codes, uniques = pd.factorize(column.astype(object), use_na_sentinel=True)
    safe = clean(pd.Series(uniques, dtype=object)).to_numpy(dtype=object)
    values = column.astype(object).to_numpy(copy=True)
    present = codes >= 0
    values[present] = safe[codes[present]]
    return pd.Series(values, index=column.index, dtype=object)


# -- CSV ---------------------------------------------------------------------------------


#: Rows written between two progress reports.
PROGRESS_ROWS = 20_000


def to_csv_bytes(frame: pd.DataFrame, *, progress: Callable[[float], None] | None = None) -> bytes:
    """Write a table as CSV: UTF-8 with a byte order mark (so Excel reads accents), CRLF lines.

    :param progress: told the share of rows written, every ``PROGRESS_ROWS`` rows.
    """
    ready = for_spreadsheet(frame)
    if progress is None or len(ready) <= PROGRESS_ROWS:
        text = ready.to_csv(index=False, lineterminator="\r\n")
        return text.encode("utf-8-sig")
    buffer = io.StringIO()
    for start in range(0, len(ready), PROGRESS_ROWS):
        part = ready.iloc[start : start + PROGRESS_ROWS]
        part.to_csv(buffer, index=False, header=start == 0, lineterminator="\r\n")
        progress(min(start + PROGRESS_ROWS, len(ready)) / len(ready))
    return buffer.getvalue().encode("utf-8-sig")


# -- Excel -------------------------------------------------------------------------------

_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")


def to_xlsx_bytes(
    sheets: Mapping[str, pd.DataFrame], *, progress: Callable[[float], None] | None = None
) -> bytes:
    """Write tables as an Excel workbook, one sheet per table, in the order given.

    A text longer than an Excel cell holds is cut and marked (``excel_text``), and the
    ``notes`` of a sheet named "codebook" after it say which variables were cut and how
    often; CSV and SPSS files keep such texts whole.

    :param progress: told the share of rows written (over every sheet), now and then.
    :raises ExportTooLarge: when a table has more rows or columns than Excel allows.
    """
    import xlsxwriter

    buffer = io.BytesIO()
    # Constant memory: each row goes to a temporary file as it is written, so a sheet of
    # a million rows costs one row of memory. Every text stays text: nothing is read as
    # a formula, a number or a link (the formula guard of ``neutralised`` still applies).
    workbook = xlsxwriter.Workbook(
        buffer,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    #: Cells cut to Excel's limit so far, by column; a later "codebook" sheet says so.
    cut: dict[str, int] = {}
    rows_in_all = sum(len(frame) for frame in sheets.values()) or 1
    written = 0
    for name, frame in sheets.items():
        if len(frame) + 1 > EXCEL_MAX_ROWS or len(frame.columns) > EXCEL_MAX_COLUMNS:
            raise ExportTooLarge(
                f"The sheet “{name}” has {len(frame):,} rows and {len(frame.columns):,} columns; "
                f"Excel allows at most {EXCEL_MAX_ROWS - 1:,} rows and {EXCEL_MAX_COLUMNS:,} "
                "columns. Choose CSV or SPSS instead."
            )
        sheet = workbook.add_worksheet(_SHEET_NAME.sub("_", str(name))[:31] or "sheet")
        sheet.freeze_panes(1, 0)
        columns = [str(column) for column in frame.columns]
        for place, header in enumerate(columns):
            sheet.write_string(0, place, header)
        if name == "codebook" and cut:
            frame = with_cut_notes(frame, cut)
        ready = for_spreadsheet(frame)
        table = [_excel_values(ready[column]) for column in ready.columns]
        for place, values in enumerate(table):
            if values.dtype != object:
                continue
            for row, value in enumerate(values):
                if isinstance(value, str) and len(value) > EXCEL_MAX_CELL:
                    values[row] = excel_text(value)
                    cut[columns[place]] = cut.get(columns[place], 0) + 1
        for row in range(len(ready)):
            for place, values in enumerate(table):
                _write_cell(sheet, row + 1, place, values[row])
            written += 1
            if progress is not None and written % PROGRESS_ROWS == 0:
                # Closing the workbook (zipping its sheets) takes about as long again.
                progress(0.5 * written / rows_in_all)
    workbook.close()
    return buffer.getvalue()


def _excel_values(column: pd.Series) -> np.ndarray:
    """A column's values as plain Python ones (None where missing), for the Excel writer."""
    values = column.astype(object).to_numpy(copy=True)
    values[pd.isna(column).to_numpy()] = None
    return values


def _write_cell(sheet, row: int, place: int, value) -> None:
    value = _cell(value)
    if value is None:
        return
    if isinstance(value, str):
        if "\r" in value:
            # What the XML of the former writer kept of a carriage return: a line feed
            # (xlsxwriter would write it as "_x000D_", which readers show as such).
            value = value.replace("\r\n", "\n").replace("\r", "\n")
        sheet.write_string(row, place, value)
    elif isinstance(value, bool | np.bool_):
        sheet.write_boolean(row, place, bool(value))
    elif isinstance(value, int | float):
        sheet.write_number(row, place, value)
    else:
        sheet.write(row, place, value)


def excel_text(text: str) -> str:
    """Cut a text to what an Excel cell holds, ending with a mark of the cut and the full length."""
    mark = f"… [cut: {len(text):,} characters in full in the CSV]"
    return text[: EXCEL_MAX_CELL - len(mark)] + mark


def with_cut_notes(codebook: pd.DataFrame, cut: Mapping[str, int]) -> pd.DataFrame:
    """The codebook with a note on each variable whose Excel cells were cut."""
    if "variable" not in codebook.columns or "notes" not in codebook.columns:
        return codebook
    codebook = codebook.copy()
    for index, variable in codebook["variable"].items():
        if variable in cut:
            count = cut[variable]
            note = (
                f"In this workbook {count:,} {'answer is' if count == 1 else 'answers are'} "
                f"longer than Excel's limit of {EXCEL_MAX_CELL:,} characters and cut, each "
                "ending “… [cut: N characters in full in the CSV]”; the CSV and .sav files "
                "hold them whole."
            )
            before = codebook.at[index, "notes"] or ""
            codebook.at[index, "notes"] = f"{before} {note}".strip()
    return codebook


def _cell(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


# -- SPSS --------------------------------------------------------------------------------


def to_sav_bytes(
    frame: pd.DataFrame, codebook: pd.DataFrame, *, file_label: str = "", note: str = ""
) -> bytes:
    """Write a table as an SPSS ``.sav`` file, described by its codebook.

    Variable labels, value labels, measurement levels and user-missing codes
    (such as "not applicable") come from the codebook. Labels longer than SPSS
    allows are cut, ending "…" (``codebook.sav_label``); the codebook keeps them
    whole and says which were cut. ``note`` becomes the file's document (SPSS's
    DISPLAY DOCUMENTS shows it).
    """
    import pyreadstat

    meta = codebook.set_index("variable")
    data = {}
    formats = {}
    for column in frame.columns:
        if meta.at[column, "type"] == "numeric":
            numbers = pd.to_numeric(frame[column].astype(object), errors="coerce").astype(float)
            data[column] = numbers
            formats[column] = _number_format(numbers)
        else:
            text = each_distinct(frame[column], without_control_characters)
            data[column] = text.where(text.notna(), None).astype(object)
    table = pd.DataFrame(data, columns=list(frame.columns))
    labels = {column: sav_label(str(meta.at[column, "label"])) for column in frame.columns}
    value_labels = {}
    missing = {}
    for column in frame.columns:
        numeric = meta.at[column, "type"] == "numeric"
        codes = meta.at[column, "value_labels"] or {}
        if codes:
            value_labels[column] = {
                (float(code) if numeric else str(code)): sav_label(
                    str(label), SAV_VALUE_LABEL_BYTES
                )
                for code, label in codes.items()
            }
        missing_codes = list(meta.at[column, "missing_values"] or [])
        if missing_codes:
            missing[column] = [float(code) if numeric else str(code) for code in missing_codes]
    measures = {column: str(meta.at[column, "measurement"]) for column in frame.columns}
    handle, name = tempfile.mkstemp(suffix=".sav")
    os.close(handle)
    path = Path(name)
    try:
        pyreadstat.write_sav(
            table,
            str(path),
            file_label=cut_to_bytes(CONTROL_CHARACTERS.sub("", file_label), SAV_FILE_LABEL_BYTES),
            column_labels=labels,
            variable_value_labels=value_labels,
            missing_ranges=missing,
            variable_measure=measures,
            variable_format=formats,
            note=_document_lines(note) or None,
        )
        return path.read_bytes()
    finally:
        path.unlink(missing_ok=True)


#: SPSS keeps a file's document as lines of at most this many bytes.
SAV_DOCUMENT_LINE_BYTES = 80


def _document_lines(note: str) -> list[str]:
    """A note as the lines of an SPSS document, broken between words."""
    import textwrap

    text = CONTROL_CHARACTERS.sub("", note)
    return [
        cut_to_bytes(line, SAV_DOCUMENT_LINE_BYTES)
        for line in textwrap.wrap(text, SAV_DOCUMENT_LINE_BYTES, break_on_hyphens=False)
    ]


def _number_format(numbers: pd.Series) -> str:
    """An SPSS print format wide enough for the column: whole numbers without decimals."""
    present = numbers.dropna()
    if present.empty:
        return "F8.2"
    digits = len(str(int(np.floor(present.abs().max())))) + (1 if (present < 0).any() else 0)
    if (present == np.round(present)).all():
        return f"F{max(digits, 1)}.0"
    return f"F{min(max(digits + 5, 8), 40)}.4"


# -- Stata -------------------------------------------------------------------------------

DTA_MIMETYPE = "application/x-stata-dta"
#: Stata's limits: names of 32 characters, labels of 80, text cells of 2,045 bytes.
DTA_NAME_CHARACTERS = 32
DTA_LABEL_BYTES = 80
DTA_TEXT_BYTES = 2045
#: A variable with value labels names its label set after itself, which Stata keeps
#: to fewer characters (readstat refuses 32 and, for some files, 31).
DTA_LABELLED_NAME_CHARACTERS = 28


def dta_names(columns: list[str], labelled: set[str] = frozenset()) -> dict[str, str]:
    """Each column's Stata name: the same name when it fits, else cut and made unique."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for column in columns:
        limit = DTA_LABELLED_NAME_CHARACTERS if column in labelled else DTA_NAME_CHARACTERS
        name = column[:limit]
        number = 2
        while name.lower() in taken:
            tail = f"_{number}"
            name = column[: limit - len(tail)] + tail
            number += 1
        taken.add(name.lower())
        names[column] = name
    return names


def _dta_text(texts: pd.Series) -> pd.Series:
    """Texts without control characters, each within Stata's limit for a text cell."""
    return without_control_characters(texts).map(
        lambda value: cut_to_bytes(str(value), DTA_TEXT_BYTES)
    )


def to_dta_bytes(frame: pd.DataFrame, codebook: pd.DataFrame, *, file_label: str = "") -> bytes:
    """Write a table as a Stata ``.dta`` file (version 15), described by its codebook.

    Variable labels and the value labels of whole-number codes come from the
    codebook, cut to Stata's limits; names longer than 32 characters are cut
    (``dta_names``; 28 for a variable with value labels). User-missing codes (such as
    "not applicable") stay as their codes: the codebook lists them, and the pack's
    README says to treat them as missing.
    """
    import pyreadstat

    meta = codebook.set_index("variable")
    labelled = {
        column
        for column in frame.columns
        if meta.at[column, "type"] == "numeric" and meta.at[column, "value_labels"]
    }
    names = dta_names(list(frame.columns), labelled)
    data = {}
    for column in frame.columns:
        if meta.at[column, "type"] == "numeric":
            data[names[column]] = pd.to_numeric(
                frame[column].astype(object), errors="coerce"
            ).astype(float)
        else:
            text = each_distinct(frame[column], _dta_text)
            data[names[column]] = text.where(text.notna(), "").astype(object)
    table = pd.DataFrame(data, columns=[names[column] for column in frame.columns])
    labels = {
        names[column]: cut_to_bytes(
            CONTROL_CHARACTERS.sub("", str(meta.at[column, "label"])), DTA_LABEL_BYTES
        )
        for column in frame.columns
    }
    value_labels = {}
    for column in frame.columns:
        codes = meta.at[column, "value_labels"] or {}
        if meta.at[column, "type"] != "numeric" or not codes:
            continue
        try:
            whole = {int(code): label for code, label in codes.items() if float(code) == int(code)}
        except (TypeError, ValueError):
            continue
        if whole:
            value_labels[names[column]] = {
                float(code): cut_to_bytes(CONTROL_CHARACTERS.sub("", str(label)), DTA_LABEL_BYTES)
                for code, label in whole.items()
            }
    handle, name = tempfile.mkstemp(suffix=".dta")
    os.close(handle)
    path = Path(name)
    try:
        pyreadstat.write_dta(
            table,
            str(path),
            file_label=cut_to_bytes(CONTROL_CHARACTERS.sub("", file_label), DTA_LABEL_BYTES),
            column_labels=labels,
            variable_value_labels=value_labels,
        )
        return path.read_bytes()
    finally:
        path.unlink(missing_ok=True)
