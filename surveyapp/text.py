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


def describe_character(char: str) -> str:
    """``U+202E RIGHT-TO-LEFT OVERRIDE``: how a message names a character."""
    return f"U+{ord(char):04X} {unicodedata.name(char, 'UNNAMED CHARACTER')}"


def hidden_character(text: str) -> str | None:
    """Describe the first character of ``text`` that is invisible, reorders the text around
    it or is a control character (tabs and line breaks apart); None when there is none."""
    for char in text:
        if HIDDEN_CHARACTERS.match(char) or (
            unicodedata.category(char) == "Cc" and char not in "\t\n\r"
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
