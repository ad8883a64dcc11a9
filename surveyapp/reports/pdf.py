"""Typeset a team's report as a PDF with typst, and put every team's PDF in one ZIP.

Flask-free. The report's text goes to typst as data (JSON and the chart's SVG in
``sys.inputs``), never spliced into markup, so no team name can change the layout.
The fonts are DejaVu Sans, shipped in ``fonts/`` and embedded in every PDF (with
the machine's fonts ignored, a PDF looks the same wherever it is made); it covers
Latin, Greek, Cyrillic, Hebrew and Arabic. The PDF is tagged for screen readers
(PDF/UA-1): headings, tables with header rows, the chart with its description.
"""

from __future__ import annotations

import io
import json
import textwrap
import zipfile
from datetime import datetime
from pathlib import Path

import typst

from surveyapp.exports import ExportFile
from surveyapp.exports.pack import MANIFEST, README, manifest
from surveyapp.exports.progress import Progress, no_progress
from surveyapp.reports.operations import Batch, TeamReport, file_name

HERE = Path(__file__).parent
TEMPLATE = HERE / "templates" / "reports" / "team.typ"
FONTS = HERE / "fonts"
PDF_MIMETYPE = "application/pdf"
ZIP_MIMETYPE = "application/zip"


def team_pdf(report: TeamReport) -> bytes:
    """One team's report as a tagged PDF with its fonts embedded."""
    return typst.compile(
        str(TEMPLATE),
        root=str(HERE / "templates"),
        font_paths=[str(FONTS)],
        ignore_system_fonts=True,
        sys_inputs={"data": json.dumps(report.data), "chart": report.chart_svg},
        pdf_standards=["ua-1"],
        format="pdf",
    )


def zip_name(batch: Batch) -> str:
    wave = batch.wave
    stem = file_name(f"{wave.programme.name} {wave.label}", set()).removeprefix("team_")
    return stem.removesuffix(".pdf") + "_team_reports.zip"


def batch_zip(
    batch: Batch, *, made_by: str, now: datetime, progress: Progress = no_progress
) -> ExportFile:
    """Every team's PDF, a README saying which teams have none and why, and a manifest."""
    files: dict[str, bytes] = {}
    progress("scoring", 1.0)
    for done, report in enumerate(batch.reports):
        progress("writing", done / max(len(batch.reports), 1))
        files[report.filename] = team_pdf(report)
    files[README] = readme(batch, made_by=made_by, now=now)
    files[MANIFEST] = manifest(files)
    progress("writing", 1.0)
    name = zip_name(batch)
    root = name.removesuffix(".zip")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for filename, content in files.items():
            archive.writestr(f"{root}/{filename}", content)
    return ExportFile(name, ZIP_MIMETYPE, buffer.getvalue())


def readme(batch: Batch, *, made_by: str, now: datetime) -> bytes:
    """What the ZIP holds: each team's file, the teams without a report and why."""

    def para(text: str) -> str:
        return textwrap.fill(text, 78) + "\n"

    wave = batch.wave
    lines = [f"Team reports: {wave.programme.name}, {wave.label}", "=" * 40, ""]
    lines.append(para(f"Made on {now:%d %B %Y at %H:%M} (UTC) by {made_by}."))
    lines.append(
        para(
            f"Reporting threshold applied: {batch.threshold}. Every number in a report is "
            "one the evaluator's results pages show for this wave. A team the results "
            f"pages hide (fewer than {batch.threshold} responses, or hidden so that a "
            "smaller group cannot be worked out) has no report."
        )
    )
    lines += ["", "Reports", "-------"]
    if batch.problem:
        lines.append(para(batch.problem))
    for report in batch.reports:
        lines.append(f"{report.filename}: {report.team}")
    if not batch.reports and not batch.problem:
        lines.append(para("No team has a report."))
    if batch.withheld:
        lines += ["", "Teams without a report", "----------------------"]
        for team, why in batch.withheld:
            lines.append(textwrap.fill(f"{team}: {why}", 78, subsequent_indent="  "))
    lines += ["", f"{MANIFEST} holds the SHA-256 of every other file (sha256sum -c {MANIFEST})."]
    return "\n".join(lines).encode("utf-8")


def pack_files(batch: Batch, folder: str) -> tuple[dict[str, bytes], str]:
    """The team reports of one wave for the evaluator's pack, in ``folder``, and what the
    pack's README says of them (the teams without a report and why included)."""
    files = {f"{folder}/{report.filename}": team_pdf(report) for report in batch.reports}
    if batch.problem:
        return files, f"Team reports: none. {batch.problem}"
    said = f"Team reports in {folder}/: " + (
        ", ".join(f"{report.filename} ({report.team})" for report in batch.reports) or "none"
    )
    if batch.withheld:
        said += ". No report for " + "; ".join(f"{team} ({why})" for team, why in batch.withheld)
    return files, said + "."
