"""Checks and guards for text people type or upload, one of each (Flask-free).

- ``CONTROL_CHARACTERS``: what is stripped from answers and exports and counted in uploads;
- ``hidden_character``: invisible or reordering characters refused in staff forms and files;
- ``is_email``: an email address in the correct format (the email-validator library);
- ``safe_cell`` and ``csv_text``: spreadsheet cells that cannot run as formulas.
"""

import csv
import io
import re
import unicodedata
from collections.abc import Iterable

from email_validator import EmailNotValidError, validate_email

#: Control characters (C0, DEL and C1) that Excel's XML, SPSS and a page refuse or hide;
#: tab, line feed and carriage return are not among them.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
#: Invisible characters, and those that reverse or reorder the text around them.
HIDDEN_CHARACTERS = re.compile("[\u200b\u2060\ufeff\u202a-\u202e\u2066-\u2069]")
#: A cell starting with one of these is read as a formula by spreadsheets.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


_CONTROL_NAMES = {"\t": "TAB", "\n": "LINE FEED (a line break)", "\r": "CARRIAGE RETURN"}


def describe_character(char: str) -> str:
    """``U+202E RIGHT-TO-LEFT OVERRIDE``: how a message names a character.

    Control characters have no Unicode name: ``U+0085 CONTROL CHARACTER``.
    """
    if unicodedata.category(char) == "Cc":
        return f"U+{ord(char):04X} {_CONTROL_NAMES.get(char, 'CONTROL CHARACTER')}"
    return f"U+{ord(char):04X} {unicodedata.name(char, 'UNNAMED CHARACTER')}"


def hidden_character(text: str, *, line_breaks: bool = True) -> str | None:
    """Describe the first character of ``text`` that is invisible, reorders the text around
    it (right-to-left overrides and isolates) or is a control character (C0, DEL or C1);
    None when there is none.

    Tabs and line breaks are allowed unless ``line_breaks`` is False, as for one-line
    text that becomes a label in reports (a team, an organisation, a region, a role).
    """
    allowed = "\t\n\r" if line_breaks else ""
    for char in text:
        if HIDDEN_CHARACTERS.match(char) or (
            unicodedata.category(char) == "Cc" and char not in allowed
        ):
            return describe_character(char)
    return None


def is_email(address: str) -> bool:
    """Whether ``address`` is an email address in the correct format (``a@b..org`` is not).

    Only the form is checked: the domain is not looked up, so tests and closed networks work.
    """
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def safe_cell(value: object) -> object:
    """Keep a spreadsheet from reading a cell as a formula: prefix a quote to = + - @ tab CR."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_text(headings: list[str], rows: Iterable[Iterable[object]]) -> str:
    """Headings then rows, every cell through ``safe_cell``, Windows line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headings)
    for row in rows:
        writer.writerow(safe_cell(value) for value in row)
    return buffer.getvalue()
