"""The evaluator's pack: one ZIP per programme with every wave's data, codebooks and a README.

Flask-free. ``build_pack`` is what a command or a background job calls. Every
number in the pack comes from ``tables.wave_tables`` (the single exports' path),
with the programme's disclosure decision made once (``programme_releases``) and
handed to every wave and to the programme-wide join, so the pack can never say
more than the single exports do.

What the ZIP holds, under one folder named after the programme:

- ``wN_<wave>/``: the wide file (one row per response) and the long file (one row
  per answer), each as CSV, SPSS ``.sav`` and Stata ``.dta``; the codebook as CSV
  and as an HTML page;
- ``programme/``: the identified waves joined by ID number (``export_programme``'s
  table), CSV, ``.sav`` and ``.dta``, with its codebook;
- ``wN_<wave>/team_reports/``: in a culture survey wave, a PDF per team
  (``surveyapp.reports``), always suppressed;
- ``README.txt``: what each file is, the threshold, what was pooled or withheld,
  the questionnaire versions, when and by whom the pack was made;
- ``MANIFEST.sha256``: the SHA-256 of every other file, checked with
  ``sha256sum -c MANIFEST.sha256`` from inside the folder.
"""

from __future__ import annotations

import hashlib
import html
import io
import textwrap
import zipfile
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
from sqlalchemy.orm import Session, object_session

from surveyapp.exports import FILE_KINDS, FULL, SUPPRESSED, ExportFile, _slug, export_tables
from surveyapp.exports.formats import to_csv_bytes, to_dta_bytes, to_sav_bytes
from surveyapp.exports.progress import Progress, no_progress
from surveyapp.exports.scripts import r_script, spss_syntax
from surveyapp.exports.tables import (
    POOLED,
    TEXT_HIDDEN,
    ExportTables,
    NotReleasable,
    programme_tables,
    wave_tables,
)
from surveyapp.models import Programme, Wave
from surveyapp.quality import operations as quality
from surveyapp.quality.page import report_html, rules_said
from surveyapp.questionnaires.catalogue import questionnaire_of
from surveyapp.scoring.disclosure import programme_releases

ZIP_MIMETYPE = "application/zip"
MANIFEST = "MANIFEST.sha256"
README = "README.txt"
#: The cohort fields a suppressed file may pool.
GROUP_FIELDS = ("team", "organisation", "region", "role")

#: What each kind of file in a wave's folder is, for the README.
FILE_WORDS = {
    "wide.csv": "one row per response: the key, team, organisation, region, role, attendance "
    "and sessions where recorded, every answer, then the scale scores (CSV, UTF-8)",
    "wide.sav": "the same as wide.csv for SPSS, with variable and value labels and the "
    "missing-value codes set as user-missing",
    "wide.dta": "the same as wide.csv for Stata 15 or later, with variable and value labels",
    "long.csv": "one row per answer: the key, the cohort fields, the variable, its value and "
    "the label of the value (CSV, UTF-8)",
    "long.sav": "the same as long.csv for SPSS",
    "long.dta": "the same as long.csv for Stata",
    "codebook.csv": "every variable of the wide file: its label, type, values and their "
    "labels, missing-value codes, questionnaire and version, and where it comes from",
    "codebook.html": "the same codebook as a page to read in a browser",
    "scores.sps": "SPSS syntax (GNU PSPP runs it too: pspp scores.sps, from the folder) "
    "that reads wide.sav and recomputes every scale score from the raw items exactly as "
    "the product does (reverse coding, not applicable as missing, the minimum answered, "
    "mean or sum) as rc_<scale>, then shows the product's and the recomputed descriptives",
    "data_quality.csv": "the wave's data-quality report: responses flagged for speeding, "
    "straightlining and partial answering, overall and per team (small teams hidden), the "
    "time taken in bands and the questions most often left unanswered",
    "data_quality.html": "the same report as a page to read in a browser",
    "scores.R": "the same for R (base R only: Rscript scores.R, from the folder), reading "
    "wide.csv; it prints the descriptives and writes scores_recomputed.csv",
}


@dataclass
class PackWave:
    """What the README says about one wave of the pack."""

    number: int
    wave: Wave
    folder: str = ""
    rows: int = 0
    pooled_rows: int = 0
    hidden_text_rows: int = 0
    left_out: str = ""
    #: What the README says of the wave's team reports ("" for a wave without them).
    team_reports: str = ""


@dataclass
class _Files:
    """The pack's files as they are written, in order: name -> bytes."""

    root: str
    files: dict[str, bytes] = field(default_factory=dict)

    def add(self, name: str, content: bytes) -> None:
        self.files[name] = content


def pack_file_name(programme: Programme, for_evaluator: bool) -> str:
    """The ZIP's name: the programme, then whether small groups are hidden."""
    kind = SUPPRESSED if for_evaluator else FULL
    return f"{_slug(programme.name)}_evaluators_pack_{kind}.zip"


def build_pack(
    session: Session,
    programme: Programme,
    *,
    for_evaluator: bool,
    made_by: str,
    now: datetime,
    threshold: int | None = None,
    progress: Progress = no_progress,
) -> ExportFile:
    """Make a programme's pack as one ZIP (see the module's description).

    A wave too small to release to the evaluator is left out, and the README says
    why. ``progress`` is told "loading" and "scoring" as each wave is built and
    "writing" as the files are written.
    """
    threshold = programme.reporting_threshold if threshold is None else threshold
    waves = sorted(programme.waves, key=lambda wave: (wave.opens_at, wave.id))
    releases = programme_releases(session, programme, threshold) if for_evaluator else {}
    root = pack_file_name(programme, for_evaluator).removesuffix(".zip")
    built: dict[int, ExportTables] = {}
    described: list[PackWave] = []
    for index, wave in enumerate(waves):
        entry = PackWave(index + 1, wave, folder=f"w{index + 1}_{_slug(wave.label)}")
        described.append(entry)

        def wave_progress(stage: str, fraction: float, index: int = index) -> None:
            if stage in ("loading", "scoring"):
                progress(stage, (index + fraction) / len(waves))

        try:
            built[wave.id] = wave_tables(
                session,
                wave,
                for_evaluator=for_evaluator,
                threshold=threshold,
                release=releases.get(wave.id),
                progress=wave_progress,
            )
        except NotReleasable as problem:
            entry.left_out = str(problem)
    progress("loading", 1.0)
    progress("scoring", 1.0)
    identified = {
        wave_id: tables
        for wave_id, tables in built.items()
        if not next(w for w in waves if w.id == wave_id).is_anonymous
    }
    joined = (
        programme_tables(
            session,
            programme,
            for_evaluator=for_evaluator,
            threshold=threshold,
            releases=releases,
            built=identified,
        )
        if identified
        else None
    )
    files = _Files(root)
    steps = len(built) + 1
    progress("writing", 0.0)
    for done, entry in enumerate(entry for entry in described if entry.wave.id in built):
        tables = built[entry.wave.id]
        _describe_rows(entry, tables)
        _add_data(files, entry.folder, tables, entry.wave.label)
        questionnaire = questionnaire_of(entry.wave.questionnaire_version)
        syntax = spss_syntax(tables, questionnaire, "wide.sav")
        files.add(f"{entry.folder}/scores.sps", syntax.encode("utf-8"))
        script = r_script(tables, questionnaire, "wide.csv")
        files.add(f"{entry.folder}/scores.R", script.encode("utf-8"))
        _add_quality(files, entry, questionnaire, releases.get(entry.wave.id), threshold)
        _add_team_reports(session, files, entry, now)
        progress("writing", (done + 1) / steps)
    if joined is not None:
        _add_data(files, "programme", joined, f"{programme.name}: all identified waves", long=False)
    files.add(README, _readme(programme, described, joined, for_evaluator, threshold, made_by, now))
    files.add(MANIFEST, manifest(files.files))
    content = _zip(files)
    progress("writing", 1.0)
    return ExportFile(f"{root}.zip", ZIP_MIMETYPE, content)


def _add_quality(files: _Files, entry: PackWave, questionnaire, release, threshold) -> None:
    """The wave's data-quality report, as CSV and as a page (``quality.operations``)."""
    session = object_session(entry.wave)
    result = quality.wave_report(
        session, entry.wave, questionnaire, release=release, threshold=threshold
    )
    files.add(f"{entry.folder}/data_quality.csv", to_csv_bytes(quality.report_frame(result)))
    page = report_html(result, entry.wave.label)
    files.add(f"{entry.folder}/data_quality.html", page.encode("utf-8"))


def _add_team_reports(session: Session, files: _Files, entry: PackWave, now: datetime) -> None:
    """A culture survey wave's team reports (``surveyapp.reports``): a PDF per team in
    ``team_reports/``, always with small groups hidden, as they are made to be sent."""
    from surveyapp.reports.operations import wave_batch
    from surveyapp.reports.pdf import pack_files

    questionnaire = questionnaire_of(entry.wave.questionnaire_version)
    if not any(item.type == "bipolar" for item in questionnaire.items()):
        return
    reports, entry.team_reports = pack_files(
        wave_batch(session, entry.wave, now=now), f"{entry.folder}/team_reports"
    )
    for name, content in reports.items():
        files.add(name, content)


def _describe_rows(entry: PackWave, tables: ExportTables) -> None:
    data = tables.data
    entry.rows = len(data)
    groups = [name for name in GROUP_FIELDS if name in data.columns]
    if tables.suppressed and groups:
        entry.pooled_rows = int((data[groups] == POOLED).any(axis=1).sum())
    texts = [v.name for v in tables.variables if v.is_free_text and v.name in data.columns]
    if tables.suppressed and texts:
        entry.hidden_text_rows = int((data[texts] == TEXT_HIDDEN).any(axis=1).sum())


def _add_data(files: _Files, folder: str, tables: ExportTables, title: str, long=True) -> None:
    """Write one table's files: wide (and long) as CSV, .sav and .dta, and its codebook."""
    layouts = ("wide", "long") if long else ("wide",)
    short = "small groups hidden" if tables.suppressed else "full, small groups shown"
    for layout in layouts:
        if layout == "wide":
            data, book = tables.data, tables.codebook
        else:
            # Melted once for its three files (CSV, .sav and .dta), not once per file.
            data, book = tables.long(), tables.long_codebook()
        files.add(f"{folder}/{layout}.csv", to_csv_bytes(data))
        files.add(
            f"{folder}/{layout}.sav",
            to_sav_bytes(data, book, file_label=f"{title} ({short})", note=_file_kind(tables)),
        )
        files.add(
            f"{folder}/{layout}.dta", to_dta_bytes(data, book, file_label=f"{title} ({short})")
        )
        del data
    codebook = export_tables(tables, folder, file_format="csv", layout="codebook", title=title)
    files.add(f"{folder}/codebook.csv", codebook.content)
    files.add(f"{folder}/codebook.html", codebook_html(tables, title).encode("utf-8"))


def _file_kind(tables: ExportTables) -> str:
    """What an exported file says of itself (as ``export_tables`` writes it)."""
    kind = SUPPRESSED if tables.suppressed else FULL
    return f"{FILE_KINDS[kind]} {tables.exclusion}".strip()


# -- the codebook as a page ---------------------------------------------------------------


def _codes(value) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{code} = {label}" for code, label in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(str(code) for code in value)
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def codebook_html(tables: ExportTables, title: str) -> str:
    """The codebook as a page a person reads in a browser: one row per variable."""
    kind = FILE_KINDS[SUPPRESSED if tables.suppressed else FULL]
    book = tables.codebook
    columns = [
        ("variable", "Variable"),
        ("label", "Label"),
        ("type", "Type"),
        ("measurement", "Measurement"),
        ("value_labels", "Values"),
        ("missing_values", "Missing-value codes"),
        ("questionnaire", "Questionnaire"),
        ("version", "Version"),
        ("source", "Comes from"),
        ("notes", "Notes"),
    ]
    head = "".join(f'<th scope="col">{html.escape(words)}</th>' for _, words in columns)
    rows = []
    for record in book.to_dict("records"):
        cells = "".join(
            (
                f'<th scope="row"><code>{html.escape(_codes(record[name]))}</code></th>'
                if name == "variable"
                else f"<td>{html.escape(_codes(record[name]))}</td>"
            )
            for name, _ in columns
        )
        rows.append(f"<tr>{cells}</tr>")
    body = "\n".join(rows)
    escaped = html.escape(title)
    return f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<title>Codebook: {escaped}</title>
<style>
body {{ font-family: Arial, sans-serif; margin: 2em; color: #0b0c0c; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border-bottom: 1px solid #b1b4b6; padding: 0.4em; text-align: left;
  vertical-align: top; }}
caption {{ text-align: left; font-weight: bold; margin-bottom: 0.5em; }}
</style>
</head>
<body>
<h1>Codebook: {escaped}</h1>
<p>{html.escape(kind)}</p>
<p>{len(book)} variables. Codes listed as missing-value codes (such as "not applicable")
are not answers: treat them as missing.</p>
<table>
<caption>Every variable of the wide file, in its order</caption>
<thead><tr>{head}</tr></thead>
<tbody>
{body}
</tbody>
</table>
</body>
</html>
"""


# -- the README and the manifest ----------------------------------------------------------


def _readme(
    programme: Programme,
    described: list[PackWave],
    joined: ExportTables | None,
    for_evaluator: bool,
    threshold: int,
    made_by: str,
    now: datetime,
) -> bytes:
    def para(text: str) -> str:
        return textwrap.fill(text, 78) + "\n"

    lines = [f"The evaluator's pack: {programme.name}", "=" * 40, ""]
    lines.append(para(f"Made on {now:%d %B %Y at %H:%M} (UTC) by {made_by}."))
    if for_evaluator:
        lines.append(
            para(
                f"Suppressed pack. Reporting threshold applied: {threshold}. "
                f"Teams, organisations, regions and roles with fewer than {threshold} "
                f"respondents, or in a combination shared by fewer than {threshold}, are "
                f'pooled as "{POOLED}". Answers that could tell who someone is are '
                "withheld from rows whose groups are pooled or rare, and free text from "
                f'small groups reads "{TEXT_HIDDEN}". A wave with fewer than {threshold} '
                "responses is withheld altogether. Answers and scores are never changed."
            )
        )
    else:
        lines.append(
            para(
                "Full pack: every response, small groups shown, no reporting threshold "
                "applied. Only for the programme team; do not share it."
            )
        )
    lines.append("")
    lines.append("Waves")
    lines.append("-----")
    for entry in described:
        version = entry.wave.questionnaire_version
        privacy = "anonymous" if entry.wave.is_anonymous else "identified"
        lines.append(
            para(
                f"{entry.folder}/: {entry.wave.label} ({privacy}), questionnaire "
                f"“{version.title}” ({version.questionnaire_key}) version {version.number}, "
                f"file hash sha256:{version.content_hash[:12]}…"
            )
        )
        if entry.left_out:
            lines.append(para(f"  Not in this pack: {entry.left_out}"))
            continue
        said = f"  {entry.rows} responses."
        if for_evaluator:
            said += (
                f" Rows with a group pooled: {entry.pooled_rows}. Rows with free text "
                f"withheld: {entry.hidden_text_rows}."
            )
        lines.append(para(said))
        if entry.team_reports:
            lines.append(para(f"  {entry.team_reports}"))
    lines += ["", "Files in each wave's folder", "---------------------------"]
    for name, words in FILE_WORDS.items():
        lines.append(para(f"{name}: {words}."))
    lines += ["", "Data quality", "------------"]
    lines.append(
        para(
            "Every data file carries the data-quality flags as its last columns, labelled in "
            "the codebook and the .sav: dq_seconds (identified waves only), dq_time_band, "
            "dq_speeding, dq_straightlining, dq_unanswered_share, dq_partial and dq_flagged. "
            "Nothing is left out of the pack for a flag: filter on them as you see fit. "
            "Each wave's data_quality.csv and data_quality.html report the flags. The rules:"
        )
    )
    lines += [para(f"- {line}") for line in rules_said()]
    lines.append(
        para(
            "team_reports/ (culture survey waves): a PDF per team, as the wave's Team reports "
            "page makes them, with small groups hidden whatever the pack; a team the results "
            "pages hide has no report."
        )
    )
    lines += ["", "The programme-wide file", "-----------------------"]
    if joined is None:
        lines.append(para("No identified wave could be joined, so there is no programme file."))
    else:
        lines.append(
            para(
                f"programme/wide.csv, .sav and .dta: the identified waves joined by ID number, "
                f"one row per person ({len(joined.data)} people). Each wave's variables start "
                "w1_, w2_ … in the order of the wave folders (attendance and sessions "
                "included where the waves carry them); answered_w1, answered_w2 … say "
                "which waves the person answered (1 = yes) and waves_answered how many. "
                "Anonymous waves cannot be joined and are not in it. programme/codebook.csv "
                "and codebook.html describe it."
            )
        )
    lines += ["", "Notes", "-----"]
    lines.append(
        para(
            "Missing-value codes: the .sav files mark them as user-missing; in the CSV and "
            ".dta files they keep their codes, listed in the codebook, so set them as "
            "missing before analysis. Stata names are cut to 32 characters where longer "
            "(28 for a variable with value labels)."
        )
    )
    lines.append(
        para(
            f"{MANIFEST} holds the SHA-256 of every other file. To check nothing changed, "
            f"run `sha256sum -c {MANIFEST}` in this folder."
        )
    )
    return "\n".join(lines).encode("utf-8")


def manifest(files: dict[str, bytes]) -> bytes:
    """``sha256sum`` lines for every file: "<hex>  <name>", names relative to the pack's folder."""
    lines = [f"{hashlib.sha256(content).hexdigest()}  {name}\n" for name, content in files.items()]
    return "".join(lines).encode("utf-8")


def _zip(files: _Files) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.files.items():
            archive.writestr(f"{files.root}/{name}", content)
    return buffer.getvalue()
