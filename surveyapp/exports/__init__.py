"""Exports for evaluators: tables (``tables``), their codebook (``codebook``), files (``formats``).

Flask-free. ``export_wave`` and ``export_programme`` are what a view or a
command calls: they pick the layout and the format and return a named file.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import pandas as pd
from sqlalchemy.orm import Session

from surveyapp.exports.codebook import Variable, codebook_frame, is_valid_name, wave_variables
from surveyapp.exports.formats import (
    CSV_MIMETYPE,
    SAV_MIMETYPE,
    XLSX_MIMETYPE,
    ExportTooLarge,
    to_csv_bytes,
    to_sav_bytes,
    to_xlsx_bytes,
)
from surveyapp.exports.progress import STAGES, Progress, no_progress
from surveyapp.exports.tables import (
    POOLED,
    TEXT_HIDDEN,
    ExportTables,
    NotReleasable,
    long_table,
    programme_tables,
    programme_wide_table,
    wave_tables,
    wide_table,
)
from surveyapp.models import Programme, Wave
from surveyapp.scoring.suppression import DEFAULT_THRESHOLD

#: File formats, by the name a user picks.
FORMATS = ("csv", "xlsx", "sav")
#: Layouts: the wide table, the long table, or the codebook alone.
LAYOUTS = ("wide", "long", "codebook")
#: The formats a layout can be written in: the codebook is a table about the variables,
#: which SPSS carries as the labels of a data file, so it has no SPSS file of its own.
LAYOUT_FORMATS = {"wide": FORMATS, "long": FORMATS, "codebook": ("csv", "xlsx")}
#: What a file says about itself, in its name and its first lines: suppressed or full.
SUPPRESSED, FULL = "suppressed", "full"
FILE_KINDS = {
    SUPPRESSED: "Small groups hidden (suppressed file): groups too small to show are pooled, "
    "and the answers that could tell who someone is are withheld.",
    FULL: "Full file: every response, small groups shown. Only for the programme team; "
    "do not share it.",
}

__all__ = [
    "FORMATS",
    "LAYOUTS",
    "POOLED",
    "STAGES",
    "TEXT_HIDDEN",
    "ExportFile",
    "ExportTables",
    "ExportTooLarge",
    "NotReleasable",
    "Progress",
    "Variable",
    "check_choice",
    "codebook_frame",
    "export_programme",
    "export_tables",
    "export_wave",
    "formats_for",
    "is_valid_name",
    "long_table",
    "programme_tables",
    "programme_wide_table",
    "to_csv_bytes",
    "to_sav_bytes",
    "to_xlsx_bytes",
    "wave_tables",
    "wave_file_name",
    "wave_variables",
    "wide_table",
]


@dataclass(frozen=True)
class ExportFile:
    """A file ready to download or write: its name, media type and bytes."""

    filename: str
    mimetype: str
    content: bytes


def export_wave(
    session: Session,
    wave: Wave,
    *,
    file_format: str,
    layout: str = "wide",
    for_evaluator: bool,
    threshold: int = DEFAULT_THRESHOLD,
    progress: Progress = no_progress,
    exclude: tuple[str, ...] = (),
) -> ExportFile:
    """Export one wave in a format and layout.

    :param progress: told how far each stage has got (see ``exports.progress``).
    :param exclude: data-quality rules whose flagged responses are left out, when that
        is safe (``quality.operations.decide_exclusion``); the file says so.
    :raises ValueError: for an unknown format or layout.
    :raises ExportTooLarge: when Excel cannot hold the table.
    """
    check_choice(file_format, layout)
    tables = wave_tables(
        session,
        wave,
        for_evaluator=for_evaluator,
        threshold=threshold,
        progress=progress,
        exclude=exclude,
    )
    return export_tables(
        tables,
        wave_file_name(wave),
        file_format=file_format,
        layout=layout,
        title=wave.label,
        progress=progress,
    )


def wave_file_name(wave: Wave) -> str:
    """The start of a wave's export file names: programme and wave, as plain letters."""
    return f"{_slug(wave.programme.name)}_{_slug(wave.label)}"


def export_programme(
    session: Session,
    programme: Programme,
    *,
    file_format: str,
    layout: str = "wide",
    for_evaluator: bool,
    threshold: int = DEFAULT_THRESHOLD,
) -> ExportFile:
    """Export a programme's identified waves side by side (one row per ID number)."""
    tables = programme_tables(session, programme, for_evaluator=for_evaluator, threshold=threshold)
    name = f"{_slug(programme.name)}_all_waves"
    return export_tables(tables, name, file_format=file_format, layout=layout, title=programme.name)


def formats_for(layout: str) -> tuple[str, ...]:
    """The formats ``layout`` can be written in (``LAYOUT_FORMATS``)."""
    return LAYOUT_FORMATS[layout]


def check_choice(file_format: str, layout: str) -> None:
    """Raise ValueError, saying what to choose, for a format or layout that cannot be written."""
    if file_format not in FORMATS:
        raise ValueError(f"Choose a format among {', '.join(FORMATS)}, not {file_format!r}.")
    if layout not in LAYOUTS:
        raise ValueError(f"Choose a layout among {', '.join(LAYOUTS)}, not {layout!r}.")
    if file_format not in formats_for(layout):
        raise ValueError(
            "The codebook has no SPSS file: an SPSS file of the data carries the codebook as "
            "its labels. Choose CSV or Excel for the codebook."
        )


def export_tables(
    tables: ExportTables,
    name: str,
    *,
    file_format: str,
    layout: str,
    title: str = "",
    progress: Progress = no_progress,
) -> ExportFile:
    """Write built tables in a format and layout.

    Excel holds four sheets: ``about`` (which file this is), ``data`` (the layout),
    ``scores`` and ``codebook``. SPSS holds the layout with the codebook's labels,
    and says which file it is in its label and its document. The codebook layout is
    the codebook alone, as CSV (or Excel), its first row saying which file it is.
    The file's name ends ``_suppressed`` or ``_full`` (``tables.suppressed``).

    :param progress: told how far the stage "writing" has got.
    """
    check_choice(file_format, layout)
    progress("writing", 0.0)
    exported = _write(tables, name, file_format, layout, title, progress)
    progress("writing", 1.0)
    return exported


def _write(
    tables: ExportTables, name: str, file_format: str, layout: str, title: str, progress: Progress
) -> ExportFile:
    def writing(fraction: float) -> None:
        progress("writing", fraction)

    kind = SUPPRESSED if tables.suppressed else FULL
    said = f"{FILE_KINDS[kind]} {tables.exclusion}".strip()
    if layout == "codebook":
        data, book = with_file_row(tables.codebook, said), tables.codebook
    elif layout == "long":
        data, book = tables.long(), tables.long_codebook()
    else:
        data, book = tables.data, tables.codebook
    # A file with flagged responses left out says so in its name too (a CSV has no header).
    left_out = "_flagged_left_out" if tables.exclusion and "left out" in tables.exclusion else ""
    filename = f"{name}_{layout}_{kind}{left_out}.{file_format}"
    if file_format == "csv":
        return ExportFile(filename, CSV_MIMETYPE, to_csv_bytes(data, progress=writing))
    if file_format == "xlsx":
        about = about_sheet(title, layout, said)
        # The wide codebook explains every variable a long table names, too.
        sheets = {"about": about, "data": data, "scores": tables.scores()}
        sheets["codebook"] = tables.codebook
        if layout == "codebook":
            sheets = {"about": about, "codebook": book}
        return ExportFile(filename, XLSX_MIMETYPE, to_xlsx_bytes(sheets, progress=writing))
    short = "small groups hidden" if tables.suppressed else "full, small groups shown"
    return ExportFile(
        filename,
        SAV_MIMETYPE,
        to_sav_bytes(data, book, file_label=f"{title} ({short})", note=said),
    )


def about_sheet(title: str, layout: str, kind: str) -> pd.DataFrame:
    """The first sheet of a workbook: what it holds and whether small groups are hidden."""
    lines = [kind, f"{title}: {LAYOUT_WORDS[layout]}." if title else f"{LAYOUT_WORDS[layout]}."]
    return pd.DataFrame({"about": lines})


#: What each layout holds, for the first sheet of a workbook.
LAYOUT_WORDS = {
    "wide": "one row per response (sheet data), the scale scores (sheet scores) and every "
    "variable with its label and codes (sheet codebook)",
    "long": "one row per answer (sheet data), the scale scores (sheet scores) and every "
    "variable with its label and codes (sheet codebook)",
    "codebook": "every variable with its label and codes (sheet codebook)",
}


def with_file_row(codebook: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The codebook with a first row saying which file it describes (suppressed or full)."""
    first = pd.DataFrame([{"variable": "(this file)", "label": kind}], columns=codebook.columns)
    return pd.concat([first.astype(codebook.dtypes.to_dict()), codebook], ignore_index=True)


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")[:40] or "export"
