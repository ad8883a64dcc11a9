"""A REDCap data dictionary (CSV) converted to a questionnaire file (Flask-free).

The result is text in the questionnaire format, to be shown in the editor and checked
and stored like any other file. Every construct that cannot be carried over (calculated
fields, piping, unsupported types or validations, branching the format cannot express)
is listed by row and column instead of being dropped silently. Nothing in the file is
executed, fetched or included: cells are only read as text.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from dataclasses import dataclass, field

#: Larger dictionaries are refused before they are read.
MAX_BYTES = 1_000_000
MAX_ROWS = 3000

#: The dictionary's columns, by the names REDCap writes in a downloaded file and in the API.
COLUMNS = {
    "name": ("Variable / Field Name", "field_name"),
    "form": ("Form Name", "form_name"),
    "section": ("Section Header", "section_header"),
    "type": ("Field Type", "field_type"),
    "label": ("Field Label", "field_label"),
    "choices": ("Choices, Calculations, OR Slider Labels", "select_choices_or_calculations"),
    "note": ("Field Note", "field_note"),
    "validation": (
        "Text Validation Type OR Show Slider Number",
        "text_validation_type_or_show_slider_number",
    ),
    "min": ("Text Validation Min", "text_validation_min"),
    "max": ("Text Validation Max", "text_validation_max"),
    "identifier": ("Identifier?", "identifier"),
    "branching": ("Branching Logic (Show field only if...)", "branching_logic"),
    "required": ("Required Field?", "required_field"),
    "matrix": ("Matrix Group Name", "matrix_group_name"),
}
_NEEDED = ("name", "form", "type", "label")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_TAG = re.compile(r"<[^>]*>")
_PIPING = re.compile(r"\[[a-z][a-z0-9_]*(?:\([^)]*\))?\]")
_SIMPLE_BRANCH = re.compile(
    r"""^\s*\[([a-z][a-z0-9_]*)\]\s*=\s*(?:'([^']*)'|"([^"]*)"|(\d+))\s*$"""
)
_CODE = re.compile(r"^[A-Za-z0-9_]{1,20}$")


class DictionaryProblem(ValueError):
    """The file cannot be read as a data dictionary; the message says why."""


@dataclass(frozen=True)
class Note:
    """Something of one row that was not carried over, or was changed."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"Row {self.row}, column {self.column}: {self.message}"


@dataclass
class Converted:
    key: str
    text: str
    notes: list[Note] = field(default_factory=list)
    items: int = 0


def convert_dictionary(data: bytes, name: str) -> Converted:
    """Convert the bytes of a data dictionary named ``name`` to a questionnaire file.

    :raises DictionaryProblem: when the file is not a readable data dictionary.
    """
    rows = _rows(data)
    header = [cell.strip() for cell in rows[0]]
    where = {}
    for column, names in COLUMNS.items():
        for index, cell in enumerate(header):
            if cell.lower() in (n.lower() for n in names):
                where[column] = index
    missing = [COLUMNS[column][0] for column in _NEEDED if column not in where]
    if missing:
        raise DictionaryProblem(
            "The first row must name the columns of a REDCap data dictionary; it has no "
            + " and no ".join(f"“{m}”" for m in missing)
            + (" column" if len(missing) == 1 else " columns")
            + ". Download the dictionary again from REDCap's Data Dictionary page."
        )
    names = {column: COLUMNS[column][0] for column in COLUMNS}
    builder = _Builder(_key(name), names)
    for number, row in enumerate(rows[1:], start=2):
        cells = {column: _cell(row, index) for column, index in where.items()}
        if not any(cells.values()):
            continue
        builder.add(number, cells)
    if not builder.items:
        raise DictionaryProblem("The dictionary has no field that can become a question.")
    return Converted(builder.key, builder.text(), builder.notes, builder.items)


def _rows(data: bytes) -> list[list[str]]:
    if len(data) > MAX_BYTES:
        raise DictionaryProblem(
            f"The file is {len(data):,} bytes, over the limit of 1 MB for a data dictionary."
        )
    if data.startswith(b"PK\x03\x04") or b"\x00" in data[:4096]:
        raise DictionaryProblem(
            "The file is not a CSV file (it looks like a workbook or another binary file). "
            "Download the data dictionary from REDCap as CSV."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DictionaryProblem(
            f"The file is not saved as UTF-8 text (line {line}). Save it again as "
            "“CSV UTF-8” and upload it again."
        ) from None
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise DictionaryProblem(f"The file cannot be read as CSV: {exc}.") from None
    if not rows:
        raise DictionaryProblem("The file is empty.")
    if len(rows) > MAX_ROWS + 1:
        raise DictionaryProblem(
            f"The dictionary has {len(rows) - 1:,} rows, over the limit of {MAX_ROWS:,}."
        )
    return rows


def _cell(row: list[str], index: int) -> str:
    return row[index].strip() if index < len(row) else ""


def _key(name: str) -> str:
    stem = re.sub(r"\.csv$", "", name.rsplit("/", 1)[-1], flags=re.IGNORECASE)
    # REDCap names a download like TeamWellbeing_DataDictionary_2031-03-27.csv.
    stem = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", stem).lower()
    stem = re.sub(r"_?data_?dictionary.*$", "", stem)
    key = re.sub(r"[^a-z0-9]+", "_", stem).strip("_")
    if not key or not key[0].isalpha():
        key = "imported_" + key if key else "imported_questionnaire"
    return key[:60].rstrip("_")


def _plain(text: str) -> str:
    """A label without HTML: tags removed, entities read, spaces collapsed."""
    return re.sub(r"\s+", " ", html.unescape(_TAG.sub(" ", text))).strip()


def _title(form: str) -> str:
    words = form.replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else "Imported questionnaire"


def _item_lines(item: list[str] | dict) -> list[str]:
    """The lines of an item; a matrix is kept as parts until its last row is read."""
    if isinstance(item, list):
        return item
    required = [] if item["required"] else ["required: false"]
    return [*item["lines"], *required, "options:", *item["options"], "rows:", *item["rows"]]


def _q(text: str) -> str:
    """A YAML scalar: JSON's double-quoted strings are YAML 1.2 too."""
    return json.dumps(text, ensure_ascii=False)


class _Builder:
    def __init__(self, key: str, names: dict[str, str]) -> None:
        self.key = key
        self.names = names
        self.notes: list[Note] = []
        self.pages: list[dict] = []
        self.form = None
        self.ids: set[str] = set()
        self.codes: dict[str, set[str]] = {}
        self.items = 0
        self.first_form = ""
        self.seen_first = False
        #: The matrix being built from consecutive rows of one matrix group, if any.
        self.matrix: dict | None = None

    def note(self, row: int, column: str, message: str) -> None:
        self.notes.append(Note(row, self.names[column], message))

    def add(self, row: int, cells: dict[str, str]) -> None:
        kind = cells.get("type", "").lower()
        form = cells.get("form", "")
        self.first_form = self.first_form or form
        section = _plain(cells.get("section", ""))
        group = cells.get("matrix", "")
        if form != self.form or section or not self.pages:
            self.form = form
            self._page(section or _title(form), row)
        if not (group and self.matrix and self.matrix["group"] == group):
            self.matrix = None
        label = cells.get("label", "")
        if _PIPING.search(label):
            self.note(
                row,
                "label",
                "Piping (a [field] inside the text) cannot be carried "
                "over; the brackets stay in the text.",
            )
        text = _plain(label)
        if kind == "descriptive":
            page = self.pages[-1]
            page["intro"] = (page["intro"] + "\n\n" + text).strip() if text else page["intro"]
            return
        if kind in ("calc", "file", "sql", "signature"):
            self.note(row, "type", f"A “{kind}” field cannot be carried over; it was left out.")
            return
        if not self.seen_first:
            # REDCap's first field is always the record's own ID, never a question.
            self.seen_first = True
            self.note(
                row, "name", f"“{cells.get('name', '')}” is REDCap's record ID; it was left out."
            )
            return
        item_id = self._id(row, cells.get("name", ""))
        if item_id is None:
            return
        if group and kind == "radio":
            self._matrix_row(row, group, item_id, text, cells, section)
            return
        self.matrix = None
        if group:
            self.note(
                row,
                "matrix",
                f"A “{kind}” field of the matrix “{group}” becomes a question of its own: "
                "a matrix here takes one choice per row.",
            )
        lines = [f"id: {item_id}", "type: {type}", f"text: {_q(text or item_id)}"]
        built = self._typed(row, kind, cells)
        if built is None:
            return
        item_type, extra = built
        lines[1] = f"type: {item_type}"
        if cells.get("note"):
            lines.append(f"hint: {_q(_plain(cells['note']))}")
        if cells.get("required", "").lower() not in ("y", "yes", "1"):
            lines.append("required: false")
        if cells.get("identifier", "").lower() in ("y", "yes", "1"):
            lines.append("identifying: true")
        condition = self._condition(row, cells.get("branching", ""))
        if condition:
            lines.append(condition)
        lines.extend(extra)
        self.pages[-1]["items"].append(lines)
        self.items += 1

    def _matrix_row(
        self, row: int, group: str, item_id: str, text: str, cells: dict[str, str], header: str
    ) -> None:
        """Add a row to the matrix of ``group``, or start one when the choices differ."""
        options = self._choices(row, cells.get("choices", ""))
        if options is None:
            return
        matrix = self.matrix
        if matrix is not None and matrix["options"] != options:
            self.note(
                row,
                "choices",
                f"The choices differ from the rest of the matrix “{group}”; "
                "a new matrix starts here.",
            )
            matrix = None
        if matrix is None:
            matrix_id = self._id(row, f"{group}_grid" if group in self.ids else group)
            if matrix_id is None:
                return
            matrix = {
                "group": group,
                "options": options,
                "lines": [
                    f"id: {matrix_id}",
                    "type: matrix",
                    f"text: {_q(header or _title(group))}",
                ],
                "rows": [],
                "required": True,
            }
            self.matrix = matrix
            self.pages[-1]["items"].append(matrix)
            self.items += 1
        if cells.get("branching"):
            self.note(
                row,
                "branching",
                "A row of a matrix cannot be shown on a condition; the row is always shown.",
            )
        if cells.get("note"):
            self.note(
                row, "note", "A row of a matrix has no hint of its own; the note was left out."
            )
        matrix["rows"].append(f"  - {{id: {item_id}, text: {_q(text or item_id)}}}")
        matrix["required"] &= cells.get("required", "").lower() in ("y", "yes", "1")

    def _page(self, title: str, row: int) -> None:
        base = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")[:40] or "page"
        if not base[0].isalpha():
            base = "page_" + base
        page_id, n = base, 1
        while page_id in self.ids:
            n += 1
            page_id = f"{base}_{n}"
        self.ids.add(page_id)
        self.pages.append({"id": page_id, "title": title, "intro": "", "items": []})

    def _id(self, row: int, name: str) -> str | None:
        if not name:
            self.note(row, "name", "The row has no variable name; it was left out.")
            return None
        item_id = name if _ID.match(name) else re.sub(r"[^a-z0-9_]+", "_", name.lower())
        if not _ID.match(item_id):
            item_id = "q_" + item_id.strip("_")
        if item_id != name:
            self.note(row, "name", f"The variable “{name}” is now “{item_id}”.")
        if item_id in self.ids:
            self.note(
                row, "name", f"The variable “{item_id}” is used twice; the second was left out."
            )
            return None
        self.ids.add(item_id)
        return item_id

    def _choices(self, row: int, text: str) -> list[str] | None:
        options = []
        for part in text.split("|"):
            code, _, label = part.partition(",")
            code, label = code.strip(), _plain(label)
            if not code:
                continue
            if not _CODE.match(code):
                self.note(
                    row,
                    "choices",
                    f"The code “{code}” is not a number or short word; the field was left out.",
                )
                return None
            value = code if code.isdigit() and not code.startswith("0") or code == "0" else _q(code)
            options.append(f"  - {{code: {value}, label: {_q(label or code)}}}")
        if not options:
            self.note(row, "choices", "The field has no choices; it was left out.")
            return None
        return options

    def _typed(self, row: int, kind: str, cells: dict[str, str]):
        validation = cells.get("validation", "").lower()
        if kind in ("radio", "dropdown", "checkbox"):
            options = self._choices(row, cells.get("choices", ""))
            if options is None:
                return None
            if validation == "autocomplete":
                self.note(row, "validation", "Autocomplete becomes a list of choices.")
            return ("multiple_choice" if kind == "checkbox" else "single_choice"), [
                "options:",
                *options,
            ]
        if kind in ("yesno", "truefalse"):
            yes, no = ("Yes", "No") if kind == "yesno" else ("True", "False")
            return "single_choice", [
                "options:",
                f"  - {{code: 1, label: {yes}}}",
                f"  - {{code: 0, label: {no}}}",
            ]
        if kind == "notes":
            return "long_text", []
        if kind == "slider":
            self.note(row, "type", "A slider becomes a number from 0 to 100.")
            return "number", ["min: 0", "max: 100"]
        if kind == "text":
            if validation in ("integer", "number") or validation.startswith("number_"):
                extra = [] if validation == "integer" else ["integer: false"]
                for column in ("min", "max"):
                    value = cells.get(column, "")
                    if re.fullmatch(r"-?\d+(\.\d+)?", value):
                        extra.append(f"{column}: {value}")
                    elif value:
                        self.note(
                            row, column, f"The {column} “{value}” is not a number; it was left out."
                        )
                return "number", extra
            if validation:
                self.note(
                    row,
                    "validation",
                    f"The validation “{validation}” cannot be "
                    "carried over; the answer is free text.",
                )
            return "short_text", []
        self.note(row, "type", f"The field type “{kind or 'none'}” is not known; it was left out.")
        return None

    def _condition(self, row: int, logic: str) -> str:
        if not logic:
            return ""
        match = _SIMPLE_BRANCH.match(logic)
        if match and match.group(1) in self.ids:
            code = next(group for group in match.groups()[1:] if group is not None)
            value = code if code.isdigit() else _q(code)
            return f"show_if: {{item: {match.group(1)}, equals: {value}}}"
        self.note(
            row,
            "branching",
            f"The branching “{logic[:80]}” cannot be carried over; the question is always shown.",
        )
        return ""

    #: What the file was converted from, for its first comment.
    origin = "a REDCap data dictionary"

    def the_title(self) -> str:
        return _title(self.first_form)

    def the_source(self) -> str:
        return "REDCap data dictionary, form " + (self.first_form or "unnamed")

    def text(self) -> str:
        minutes = max(1, min(240, round(self.items / 4)))
        out = [
            f"# Converted from {self.origin}. Check the wording and what the import",
            "# report lists, then save.",
            "format_version: 1",
            f"key: {self.key}",
            f"title: {_q(self.the_title())}",
            f"estimated_minutes: {minutes}",
            f"source: {_q(self.the_source())}",
            "origin: quoted",
            "pages:",
        ]
        for page in self.pages:
            if not page["items"]:
                continue
            out.append(f"  - id: {page['id']}")
            out.append(f"    title: {_q(page['title'])}")
            if page["intro"]:
                out.append(f"    intro: {_q(page['intro'])}")
            out.append("    items:")
            for lines in map(_item_lines, page["items"]):
                out.append(f"      - {lines[0]}")
                out.extend(f"        {line}" for line in lines[1:])
        return "\n".join(out) + "\n"
