"""`flask exports pack PROGRAMME_ID`: write a programme's evaluator's pack (one ZIP).

Suppressed (small groups pooled, as for an evaluator) unless ``--full`` is given,
and written to the audit log as "command line", as ``exports write`` is.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from surveyapp.audit import operations as audit
from surveyapp.cli import COMMAND_LINE, _export_threshold, _fail, _now, _session, exports_cli


@exports_cli.command("pack")
@click.argument("programme_id", type=int)
@click.option("--out", type=click.Path(path_type=Path), help="File to write; default: its name.")
@click.option(
    "--full",
    is_flag=True,
    help="Every group in full, not suppressed: for the study team, never for sharing.",
)
@click.option(
    "--threshold",
    type=click.IntRange(min=3),
    help="Groups with fewer respondents are pooled (suppressed packs only). The default is "
    "the programme's reporting threshold; a higher number may be given, never a lower one.",
)
def exports_pack(programme_id: int, out: Path | None, full: bool, threshold: int | None) -> None:
    """Write a programme's evaluator's pack: every wave as CSV, SPSS and Stata, the
    programme-wide file, codebooks, a README and a SHA-256 manifest, in one ZIP."""
    from surveyapp.exports.pack import build_pack
    from surveyapp.exports.progress import describe
    from surveyapp.models import Programme

    with _session() as session:
        programme = session.get(Programme, programme_id)
        if programme is None:
            _fail(f"There is no programme {programme_id}.")
        threshold = _export_threshold(programme, threshold)
        started = time.perf_counter()
        click.echo(f"Making the evaluator's pack of “{programme.name}”…", err=True)
        shown = {"stage": "", "percent": -100}

        def progress(stage: str, fraction: float) -> None:
            percent = int(fraction * 100)
            if stage == shown["stage"] and percent < shown["percent"] + 25 and percent < 100:
                return
            if stage == shown["stage"] and percent == shown["percent"]:
                return
            shown.update(stage=stage, percent=percent)
            click.echo(describe(stage, fraction), err=True)

        try:
            exported = build_pack(
                session,
                programme,
                for_evaluator=not full,
                made_by=f"{COMMAND_LINE} (flask exports pack)",
                now=_now(),
                threshold=threshold,
                progress=progress,
            )
        except ValueError as problem:
            _fail(str(problem))
        audit.record(
            session,
            action="export.download",
            summary=f"Evaluator's pack of “{programme.name}” written from the command line, "
            + ("full data" if full else "small groups hidden"),
            actor_label=COMMAND_LINE,
            programme_id=programme.id,
            object_type="programme",
            object_id=programme.id,
            now=_now(),
        )
        session.commit()
    target = out or Path(exported.filename)
    target.write_bytes(exported.content)
    seconds = time.perf_counter() - started
    kind = "full (not suppressed)" if full else f"suppressed below {threshold}"
    click.echo(f"Wrote {target} ({len(exported.content):,} bytes, {kind}) in {seconds:.1f} s.")
