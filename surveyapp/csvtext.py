"""CSV text for people to open in a spreadsheet, with formulas made inert (Flask-free)."""

import csv
import io
from collections.abc import Iterable


def safe_cell(value: object) -> object:
    """Keep a spreadsheet from reading a cell as a formula: prefix a quote to = + - @ tab CR."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
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
