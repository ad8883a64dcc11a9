"""A cohort file: read it, whatever a spreadsheet saved, and say what is wrong (Flask-free).

A cohort file is whatever a spreadsheet saved as CSV: UTF-8 with or without a
byte order mark or Windows-1252, separated by commas, semicolons or tabs, with
headings written however the programme writes them. Parsing never raises on
any bytes: it reports what is wrong with the file as a whole, and every bad row
with its line number and why, so an administrator can fix the spreadsheet.
Nothing here touches the database: ``roster.import_cohort`` saves what was read.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from typing import NamedTuple

from surveyapp.models import Participant
from surveyapp.text import (
    CONTROL_CHARACTERS,
    describe_character,
    hidden_character,
    is_email,
)

#: The columns every participant has, in the order they are shown.
STANDARD_FIELDS = ("id_number", "name", "email", "team", "organisation", "region", "role")
#: What erasure and the retention date remove, and a later file must not bring back.
CONTACT_FIELDS = ("name", "email")
#: A cohort file without one of these columns cannot be imported.
REQUIRED_FIELDS = ("id_number", "name", "email")
#: Other headings that mean a standard column; matched loosely, like the names themselves.
HEADING_ALIASES = {
    "id_number": ("id number", "id", "id no", "participant id", "reference"),
    "name": ("full name", "participant name"),
    "email": ("email address", "e-mail", "e-mail address"),
    "team": (),
    "organisation": ("organization", "local authority", "council"),
    "region": (),
    "role": ("job role",),
}
#: Headings of a name given in two columns, joined (first, then last) into the name. A file
#: with a full-name column as well keeps these as further columns.
NAME_PART_ALIASES = {
    "first_name": (
        "first name", "first names", "given name", "given names", "forename", "forenames",
    ),
    "last_name": ("last name", "surname", "family name", "last names"),
}  # fmt: skip
NAME_PARTS = tuple(NAME_PART_ALIASES)

_LABELS = {
    "id_number": "ID number",
    "name": "name",
    "email": "email address",
    "team": "team",
    "organisation": "organisation",
    "region": "region",
    "role": "role",
    "first_name": "first name",
    "last_name": "last name",
}
# Taken from the table, so a longer column in a migration needs no change here.
_MAX_LENGTHS = {name: Participant.__table__.c[name].type.length for name in STANDARD_FIELDS}
DELIMITER_NAMES = {",": ",", ";": ";", "\t": "tab"}
_HEADING_SEPARATORS = re.compile(r"[\s_\-]+")
# An ID number is the key of every export and of matching people across files, so it may
# hold only what an English keyboard types: a lookalike letter (Cyrillic "А" for "A") or an
# invisible character would silently make a second person.
_PLAIN_ID = re.compile(r"[ -~]+")
_UNREADABLE = (
    "The file could not be read as text. Save the spreadsheet as “CSV UTF-8 (comma delimited)” "
    "and upload that file."
)


@dataclass(frozen=True)
class RowProblem:
    """Why one row of the file cannot be imported."""

    #: Physical line in the file, the heading row being line 1 (a spreadsheet's row number).
    line: int
    #: As given in the row; may be "".
    id_number: str
    message: str


@dataclass(frozen=True)
class CohortRow:
    """One good row: a person ready to be added or updated."""

    line: int
    id_number: str
    name: str
    email: str
    team: str
    organisation: str
    region: str
    role: str
    #: Every further named column, by its heading as written.
    attributes: dict[str, str]


@dataclass
class ParsedCohort:
    """What a cohort file holds, and everything wrong with it."""

    rows: list[CohortRow]
    problems: list[RowProblem]
    #: Problems with the whole file; when there are any, ``rows`` is empty.
    file_problems: list[str]
    #: "UTF-8" or "Windows-1252"; "" when the file could not be read as text.
    encoding: str
    #: ",", ";" or "tab".
    delimiter: str
    attribute_columns: list[str]
    #: How each named column was read, in the file's order: (column letter, heading, what).
    column_readings: list[tuple[str, str, str]] = field(default_factory=list)
    #: The standard columns the file has. An import changes only these (and the attributes
    #: it has), so a file without a "region" column leaves everyone's region alone.
    standard_columns: list[str] = field(default_factory=lambda: list(STANDARD_FIELDS))

    @property
    def is_importable(self) -> bool:
        return not self.file_problems and bool(self.rows)


def parse_cohort_csv(data: bytes) -> ParsedCohort:
    """Read a cohort file, keeping the good rows and saying what is wrong with the rest."""
    text, encoding, problem = decode_text(data)
    if problem:
        return _unimportable(problem, encoding=encoding)
    delimiter = detect_delimiter(text)
    lines = io.StringIO(text, newline="").readlines()
    records, problem = read_records(lines, delimiter)
    if problem:
        return _unimportable(problem, encoding=encoding, delimiter=delimiter)
    return _parse_records(records, encoding=encoding, delimiter=DELIMITER_NAMES[delimiter])


# --- reading the file -------------------------------------------------------------------


def _unimportable(problem: str, *, encoding: str, delimiter: str = ",") -> ParsedCohort:
    return ParsedCohort(
        rows=[],
        problems=[],
        file_problems=[problem],
        encoding=encoding,
        delimiter=DELIMITER_NAMES[delimiter],
        attribute_columns=[],
        standard_columns=[],
    )


def decode_text(data: bytes) -> tuple[str, str, str]:
    """Return the text, the encoding's name and a problem ("" when the text is usable)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return (
            "",
            "",
            (
                "The file is saved as UTF-16 (“Unicode Text”). Save the spreadsheet as "
                "“CSV UTF-8 (comma delimited)” and upload that file."
            ),
        )
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        return (
            "",
            "",
            (
                "This is an Excel workbook, not a CSV file. In Excel choose File, Save As, "
                "“CSV UTF-8 (comma delimited)”, and upload that file."
            ),
        )
    try:
        text, encoding = data.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError:
        try:
            text, encoding = data.decode("cp1252"), "Windows-1252"
        except UnicodeDecodeError:
            return "", "", _UNREADABLE
    if _looks_binary(text):
        return "", "", _UNREADABLE
    if not text.strip():
        return "", encoding, "The file is empty."
    return text, encoding, ""


def _looks_binary(text: str) -> bool:
    # A stray control character (a DOS end-of-file mark, say) is tolerated; many are not text.
    controls = len(CONTROL_CHARACTERS.findall(text))
    return "\x00" in text or controls * 100 > len(text)


def detect_delimiter(text: str) -> str:
    """Pick whichever of comma, semicolon and tab occurs most in the heading line."""
    for line in io.StringIO(text, newline=""):
        if re.sub(r'[\s,;"\ufeff]', "", line):
            break
    else:
        return ","
    counts = dict.fromkeys(",;\t", 0)
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    # max() keeps the first of equals: comma, then semicolon, then tab.
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] else ","


class _Record(NamedTuple):
    first_line: int
    last_line: int
    cells: list[str]
    #: Spans several lines with an odd number of quotation marks: one was never closed.
    unclosed_quote: bool


def read_records(lines: list[str], delimiter: str) -> tuple[list[_Record], str]:
    """Read every record, blank ones included, with its lines and its trimmed cells.

    :return: the records, and a problem ("" when the whole file could be read).
    """
    reader = csv.reader(lines, delimiter=delimiter, skipinitialspace=True)
    records = []
    first = 1
    try:
        for cells in reader:
            last = reader.line_num
            unclosed = last > first and "".join(lines[first - 1 : last]).count('"') % 2 == 1
            records.append(_Record(first, last, [_clean(cell) for cell in cells], unclosed))
            first = last + 1
    except csv.Error as exc:
        # In the lenient mode used here, only a huge value (over csv.field_size_limit()) fails.
        if "field limit" in str(exc):
            return [], (
                f"Line {first} has a value longer than {csv.field_size_limit():,} characters, "
                "which cannot be right. Check for a quotation mark that is never closed."
            )
        return [], f"Line {first} could not be read as CSV ({exc})."
    return records, ""


def _clean(cell: str) -> str:
    # NFC, so "â" typed on a Mac and on Windows is the same text and compares equal.
    return unicodedata.normalize("NFC", cell).strip()


def heading_key(heading: str) -> str:
    key = heading.replace("\ufeff", "").strip().casefold().rstrip(".:*").strip()
    return _HEADING_SEPARATORS.sub(" ", key)


_FIELD_FOR_HEADING = {
    heading_key(text): name
    for name, aliases in (HEADING_ALIASES | NAME_PART_ALIASES).items()
    for text in (name, *aliases)
}


def _column_letter(index: int) -> str:
    """Give a spreadsheet's name for a column: 0 is A, 26 is AA."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def quoted_list(texts: list[str], conjunction: str = "or") -> str:
    """Quote each text and join them as a sentence would: “a”, “b” or “c”."""
    quoted = [f"“{text}”" for text in texts]
    if len(quoted) < 2:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + f" {conjunction} " + quoted[-1]


def _parse_records(records: list[_Record], *, encoding: str, delimiter: str) -> ParsedCohort:
    def unimportable(*file_problems: str) -> ParsedCohort:
        return ParsedCohort(
            rows=[],
            problems=[],
            file_problems=list(file_problems),
            encoding=encoding,
            delimiter=delimiter,
            attribute_columns=[],
            standard_columns=[],
        )

    records = [record for record in records if any(record.cells)]
    if not records:
        return unimportable("The file is empty.")
    heading_line, _, headings, _ = records[0]
    width = max(index for index, heading in enumerate(headings) if heading) + 1
    headings = [heading.replace("\ufeff", "").strip() for heading in headings[:width]]
    fields: dict[str, int] = {}
    attributes: dict[str, int] = {}
    unnamed: list[int] = []
    seen: dict[str, list[int]] = {}
    for index, heading in enumerate(headings):
        if not heading:
            unnamed.append(index)
            continue
        key = heading_key(heading)
        name = _FIELD_FOR_HEADING.get(key)
        seen.setdefault(name or f"attribute {key}", []).append(index)
        if name:
            fields.setdefault(name, index)
        else:
            attributes.setdefault(heading, index)

    fields, attributes, name_problem = _place_name_parts(headings, fields, attributes)
    if not fields and any(is_email(heading) for heading in headings):
        return unimportable(
            f"The first row (line {heading_line}) looks like a participant, not headings. "
            "Add a heading row naming the columns, such as id_number, name and email."
        )
    file_problems = [
        _duplicate_heading(headings, indexes) for indexes in seen.values() if len(indexes) > 1
    ]
    found = ", ".join(f"“{heading}”" for heading in headings if heading)
    if name_problem:
        file_problems.append(f"{name_problem} The headings found are: {found}.")
    for name in REQUIRED_FIELDS:
        if name not in fields and not (
            name == "name" and (name_problem or NAME_PARTS[0] in fields)
        ):
            also = quoted_list(list(HEADING_ALIASES[name]))
            split = ", or split into “first name” and “last name”" if name == "name" else ""
            file_problems.append(
                f"There is no “{name}” column (it may also be headed {also}{split}). "
                f"The headings found are: {found}."
            )
    if file_problems:
        return unimportable(*file_problems)
    if len(records) == 1:
        return unimportable("The file has a heading row but no rows of participants.")

    rows: list[CohortRow] = []
    problems: list[RowProblem] = []
    first_line_of: dict[str, int] = {}
    for record in records[1:]:
        line = record.first_line
        row, row_problems = _read_row(line, record.cells, width, fields, attributes, unnamed)
        if record.unclosed_quote:
            row_problems = [
                f'A quotation mark (") on this row is never closed, so lines {line} to '
                f"{record.last_line} were read as one row."
            ]
        if row.id_number and row.id_number in first_line_of:
            row_problems.insert(
                0,
                f"The ID number {row.id_number} is used again "
                f"(first on line {first_line_of[row.id_number]}).",
            )
        elif row.id_number:
            first_line_of[row.id_number] = line
        if row_problems:
            problems.extend(RowProblem(line, row.id_number, message) for message in row_problems)
        else:
            rows.append(row)
    return ParsedCohort(
        rows=rows,
        problems=problems,
        file_problems=[],
        encoding=encoding,
        delimiter=delimiter,
        attribute_columns=list(attributes),
        column_readings=_column_readings(headings, fields, attributes),
        standard_columns=[
            name
            for name in STANDARD_FIELDS
            if name in fields or (name == "name" and NAME_PARTS[0] in fields)
        ],
    )


def _place_name_parts(
    headings: list[str], fields: dict[str, int], attributes: dict[str, int]
) -> tuple[dict[str, int], dict[str, int], str]:
    """Decide what first-name and last-name columns are: the name, when the file has no
    full-name column, or further columns when it has one.

    :return: the fields, the further columns (in the file's order) and a problem ("" if none).
    """
    parts = [part for part in NAME_PARTS if part in fields]
    if not parts:
        return fields, attributes, ""
    if "name" in fields:
        attributes = attributes | {headings[fields[part]]: fields[part] for part in parts}
        fields = {key: index for key, index in fields.items() if key not in parts}
        return fields, dict(sorted(attributes.items(), key=lambda item: item[1])), ""
    if len(parts) == 1:
        (given,) = parts
        missing = NAME_PARTS[1] if given == NAME_PARTS[0] else NAME_PARTS[0]
        return (
            fields,
            attributes,
            (
                f"There is a “{headings[fields[given]]}” column but no {_LABELS[missing]} column "
                f"(it may be headed {quoted_list(list(NAME_PART_ALIASES[missing]))}). Add it, or "
                "a “name” column with each person's full name."
            ),
        )
    return fields, attributes, ""


_READ_AS = {
    "id_number": "ID number",
    "name": "Name",
    "first_name": "First name, joined with the last name into the name",
    "last_name": "Last name, joined after the first name into the name",
    "email": "Email address",
    "team": "Team",
    "organisation": "Organisation",
    "region": "Region",
    "role": "Role",
}


def _column_readings(
    headings: list[str], fields: dict[str, int], attributes: dict[str, int]
) -> list[tuple[str, str, str]]:
    """Say what each named column was read as, for the preview: letter, heading, what."""
    what = {index: _READ_AS[name] for name, index in fields.items()}
    what |= {index: "A further column, kept with each person" for index in attributes.values()}
    return [
        (_column_letter(index), headings[index], what.get(index, "Not read: the same column again"))
        for index, heading in enumerate(headings)
        if heading
    ]


def _duplicate_heading(headings: list[str], indexes: list[int]) -> str:
    places = " and ".join(_column_letter(index) for index in indexes)
    texts = [headings[index] for index in indexes]
    if len({heading_key(text) for text in texts}) == 1:
        return (
            f"The heading “{texts[0]}” is used for more than one column (columns {places}). "
            "Keep one, or rename the others."
        )
    return (
        f"The headings {quoted_list(texts, 'and')} (columns {places}) mean the same column. "
        "Keep one, or rename the others."
    )


def _read_row(
    line: int,
    cells: list[str],
    width: int,
    fields: dict[str, int],
    attributes: dict[str, int],
    unnamed: list[int],
) -> tuple[CohortRow, list[str]]:
    def cell(index: int) -> str:
        return cells[index] if index < len(cells) else ""

    problems = []
    values = max(index for index, value in enumerate(cells) if value) + 1
    if values > width:
        problems.append(f"This row has {values} values but the heading row has {width} columns.")
    problems.extend(
        f"This row has a value in column {_column_letter(index)}, which has no heading."
        for index in unnamed
        if cell(index)
    )
    given = {name: cell(fields[name]) if name in fields else "" for name in STANDARD_FIELDS}
    if "name" not in fields and NAME_PARTS[0] in fields:
        given["name"] = " ".join(cell(fields[part]) for part in NAME_PARTS)
    given["name"] = " ".join(given["name"].split())
    if not given["id_number"]:
        problems.append("The ID number is missing.")
    if not given["name"]:
        problems.append("The name is missing.")
    if not given["email"]:
        problems.append("The email address is missing.")
    elif not is_email(given["email"]):
        problems.append(f"“{given['email']}” is not a valid email address.")
    problems.extend(
        f"The {_LABELS[name]} is longer than {_MAX_LENGTHS[name]} characters."
        for name in STANDARD_FIELDS
        if _MAX_LENGTHS[name] and len(given[name]) > _MAX_LENGTHS[name]
    )
    further = {heading: cell(index) for heading, index in attributes.items()}
    problems.extend(_character_problems(given, further))
    row = CohortRow(line=line, **{**given, "email": given["email"].lower()}, attributes=further)
    return row, problems


def _character_problems(given: dict[str, str], attributes: dict[str, str]) -> list[str]:
    """Refuse an ID number that is not plain text, and hidden characters in any column
    (through the one check of surveyapp/text.py: right-to-left overrides, C0 and C1)."""
    problems = []
    id_number = given["id_number"]
    if id_number and not _PLAIN_ID.fullmatch(id_number):
        odd = next(char for char in id_number if not _PLAIN_ID.fullmatch(char))
        if unicodedata.category(odd)[0] in "CZ":
            what = f"an invisible character ({describe_character(odd)})"
        else:
            what = f"“{odd}” ({describe_character(odd)}), which is not a plain letter or digit"
        problems.append(
            f"The ID number has {what}, so it would not match the same ID number typed "
            "elsewhere. Type the ID number again using only the letters A to Z, digits and "
            "ordinary punctuation."
        )
    for name in STANDARD_FIELDS[1:]:
        # One line of text: a team, an organisation, a region and a role label reports.
        hidden = hidden_character(given[name], line_breaks=False)
        if hidden:
            problems.append(
                f"The {_LABELS[name]} has a hidden character ({hidden}) "
                "that changes how it looks or makes it differ from the same text typed "
                "elsewhere. Delete it in the spreadsheet and save the file again."
            )
    for heading, value in attributes.items():
        hidden = hidden_character(value)
        if hidden:
            problems.append(
                f"The “{heading}” column has a hidden character ({hidden}) that changes how "
                "it looks. Delete it in the spreadsheet and save the file again."
            )
    return problems
