"""An XLSForm workbook (.xlsx: survey, choices and settings sheets) converted to a
questionnaire file (Flask-free).

Like the REDCap dictionary (``redcap``), the result is text for the editor, and every
construct that cannot be carried over (calculations, repeats, constraints, unsupported
types, relevance the format cannot express, formulas) is listed by sheet, row and column.
The workbook is only read: formulas are never evaluated, nothing is fetched or included.
"""

from __future__ import annotations

import io
import re
import zipfile

from openpyxl import load_workbook

from surveyapp.questionnaires.redcap import (
    MAX_BYTES,
    MAX_ROWS,
    Converted,
    DictionaryProblem,
    Note,
    _Builder,
    _key,
    _plain,
    _q,
)

#: A workbook whose parts unpack to more than this is refused (a zip bomb).
MAX_UNPACKED = 20_000_000
_CODE = re.compile(r"^[A-Za-z0-9_]{1,20}$")
_RELEVANT = re.compile(r"""^\s*\$\{([a-z][a-z0-9_]*)\}\s*=\s*(?:'([^']*)'|"([^"]*)"|(\d+))\s*$""")
_METADATA = {"start", "end", "today", "deviceid", "phonenumber", "username", "email",
             "audit", "simserial", "subscriberid"}  # fmt: skip
_TEXT_TYPES = {"text": "short_text", "integer": "number", "decimal": "number"}


class WorkbookProblem(DictionaryProblem):
    """The file cannot be read as an XLSForm workbook; the message says why."""


def convert_workbook(data: bytes, name: str) -> Converted:
    """Convert the bytes of an XLSForm workbook named ``name`` to a questionnaire file.

    :raises WorkbookProblem: when the file is not a readable XLSForm workbook.
    """
    sheets = _sheets(data)
    notes: list[Note] = []
    survey = _table(sheets, "survey", notes, required=True)
    choices = _table(sheets, "choices", notes)
    settings = _table(sheets, "settings", notes)
    lists: dict[str, list[tuple[str, str]]] = {}
    for row, cells in choices:
        label = _label(cells)
        if cells.get("list_name") and cells.get("name"):
            lists.setdefault(cells["list_name"], []).append((cells["name"], label, row))
    title = next((cells.get("form_title", "") for _, cells in settings), "")
    form_id = next((cells.get("form_id", "") for _, cells in settings), "")
    builder = _Workbook(_key(form_id or name.removesuffix(".xlsx")), notes, lists)
    builder.title = title or "Imported questionnaire"
    for row, cells in survey:
        builder.add(row, cells)
    if not builder.items:
        raise WorkbookProblem("The survey sheet has no question that can be carried over.")
    return Converted(builder.key, builder.text(), builder.notes, builder.items)


def _sheets(data: bytes):
    if len(data) > MAX_BYTES:
        raise WorkbookProblem(f"The file is {len(data):,} bytes, over the limit of 1 MB.")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise WorkbookProblem(
            "The workbook is password-protected or saved in the old .xls format. Remove the "
            "password, or save it as an Excel Workbook (.xlsx), and upload it again."
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED:
                raise WorkbookProblem("The workbook unpacks to more than 20 MB; it cannot be read.")
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except WorkbookProblem:
        raise
    except Exception:  # openpyxl raises many kinds on a broken file; none may crash the page
        raise WorkbookProblem(
            "The file cannot be read as an Excel workbook (.xlsx). Save it again from Excel "
            "or your spreadsheet program and upload it again."
        ) from None
    return {sheet.title.strip().lower(): sheet for sheet in workbook.worksheets}


def _table(sheets, name: str, notes: list[Note], required: bool = False):
    """The rows of one sheet as (row number, {column: text}); formulas are listed, not read."""
    sheet = sheets.get(name)
    if sheet is None:
        if required:
            raise WorkbookProblem(f"The workbook has no “{name}” sheet, which an XLSForm needs.")
        return []
    rows = sheet.iter_rows(values_only=True)
    header = [str(cell).strip().lower() if cell is not None else "" for cell in next(rows, ())]
    table = []
    for number, values in enumerate(rows, start=2):
        if number > MAX_ROWS + 1:
            raise WorkbookProblem(f"The {name} sheet has over {MAX_ROWS:,} rows.")
        cells = {}
        for column, value in zip(header, values, strict=False):
            if not column or value is None:
                continue
            text = str(value).strip()
            if text.startswith("="):
                notes.append(
                    Note(
                        number,
                        f"{column} ({name} sheet)",
                        "A formula cannot be carried over; the cell was read as empty.",
                    )
                )
                continue
            cells[column] = text
        if any(cells.values()):
            table.append((number, cells))
    return table


def _label(cells: dict[str, str]) -> str:
    if "label" in cells:
        return _plain(cells["label"])
    for column, value in cells.items():
        if column.startswith("label::"):
            return _plain(value)
    return ""


class _Workbook(_Builder):
    def __init__(self, key: str, notes: list[Note], lists: dict) -> None:
        super().__init__(key, {"name": "name (survey sheet)"})
        self.notes = notes
        self.lists = lists
        self.title = ""
        self.seen_first = True  # XLSForm has no record ID row

    def flag(self, row: int, column: str, message: str) -> None:
        self.notes.append(Note(row, f"{column} (survey sheet)", message))

    def add(self, row: int, cells: dict[str, str]) -> None:
        kind, _, list_name = cells.get("type", "").partition(" ")
        kind = kind.strip().lower()
        if kind in _METADATA:
            return  # filled in by the phone app, never asked
        label = _label(cells)
        if kind in ("begin_group", "begin group"):
            self._page(label or _plain(cells.get("name", "")) or "Questions", row)
            return
        if kind in ("end_group", "end group"):
            return
        if not self.pages:
            self._page(self.title, row)
        if kind == "note":
            page = self.pages[-1]
            page["intro"] = (page["intro"] + "\n\n" + label).strip()
            return
        if kind in ("select_one", "select_multiple"):
            options = self._options(row, list_name.strip())
            if options is None:
                return
            item_type = "single_choice" if kind == "select_one" else "multiple_choice"
            extra = ["options:", *options]
        elif kind in _TEXT_TYPES:
            item_type = _TEXT_TYPES[kind]
            extra = ["integer: false"] if kind == "decimal" else []
        else:
            self.flag(
                row,
                "type",
                f"The type “{cells.get('type', '')}” cannot be carried over; the row was left out.",
            )
            return
        item_id = self._id(row, cells.get("name", ""))
        if item_id is None:
            return
        lines = [f"id: {item_id}", f"type: {item_type}", f"text: {_q(label or item_id)}"]
        if cells.get("hint"):
            lines.append(f"hint: {_q(_plain(cells['hint']))}")
        if cells.get("required", "").lower() not in ("yes", "true", "true()", "1"):
            lines.append("required: false")
        for column in ("constraint", "calculation", "choice_filter", "repeat_count"):
            if cells.get(column):
                self.flag(row, column, f"“{cells[column][:80]}” cannot be carried over.")
        relevant = cells.get("relevant", "")
        if relevant:
            match = _RELEVANT.match(relevant)
            if match and match.group(1) in self.ids:
                code = next(g for g in match.groups()[1:] if g is not None)
                lines.append(
                    f"show_if: {{item: {match.group(1)}, equals: "
                    f"{code if code.isdigit() else _q(code)}}}"
                )
            else:
                self.flag(
                    row,
                    "relevant",
                    f"The condition “{relevant[:80]}” cannot be carried "
                    "over; the question is always shown.",
                )
        lines.extend(extra)
        self.pages[-1]["items"].append(lines)
        self.items += 1

    def _options(self, row: int, list_name: str) -> list[str] | None:
        choices = self.lists.get(list_name)
        if not choices:
            self.flag(
                row,
                "type",
                f"The choice list “{list_name}” is not on the choices sheet; the row was left out.",
            )
            return None
        options = []
        for code, label, _choice_row in choices:
            if not _CODE.match(code):
                self.flag(
                    row,
                    "type",
                    f"The choice “{code}” of “{list_name}” is not a number "
                    "or short word; the row was left out.",
                )
                return None
            value = (
                code if code.isdigit() and (code == "0" or not code.startswith("0")) else _q(code)
            )
            options.append(f"  - {{code: {value}, label: {_q(label or code)}}}")
        return options

    origin = "an XLSForm workbook"

    def the_title(self) -> str:
        return self.title

    def the_source(self) -> str:
        return f"XLSForm workbook, form {self.key}"
