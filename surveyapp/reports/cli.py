"""`flask exports reports WAVE_ID`: write a wave's team reports (one ZIP, or one team's PDF).

Always suppressed (a report is made to be sent to the team), and written to the audit
log as "command line", as ``exports pack`` is.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from surveyapp.audit import operations as audit
from surveyapp.cli import COMMAND_LINE, _fail, _now, _session, exports_cli


@exports_cli.command("reports")
@click.argument("wave_id", type=int)
@click.option("--team", help="Write only this team's report, as a PDF.")
@click.option("--out", type=click.Path(path_type=Path), help="File to write; default: its name.")
def exports_reports(wave_id: int, team: str | None, out: Path | None) -> None:
    """Write a wave's team reports: a PDF per team with enough responses, a README saying
    which teams have none and why, and a SHA-256 manifest, in one ZIP."""
    from surveyapp.exports.progress import describe
    from surveyapp.models import Wave
    from surveyapp.reports.operations import wave_batch
    from surveyapp.reports.pdf import batch_zip, team_pdf

    with _session() as session:
        wave = session.get(Wave, wave_id)
        if wave is None:
            _fail(f"There is no wave {wave_id}.")
        started = time.perf_counter()
        click.echo(f"Making the team reports of “{wave.label}”…", err=True)
        batch = wave_batch(session, wave, now=_now())
        if team is not None:
            report = batch.report(team)
            if report is None:
                why = dict(batch.withheld).get(team) or batch.problem or "there is no such team"
                names = ", ".join(report.team for report in batch.reports) or "none"
                _fail(f"There is no report for “{team}”: {why}. Teams with a report: {names}.")
            filename, content = report.filename, team_pdf(report)
            what = f"Team report of “{team}”"
        else:
            shown = {"percent": -100}

            def progress(stage: str, fraction: float) -> None:
                if stage == "writing" and fraction * 100 >= shown["percent"] + 25:
                    shown["percent"] = int(fraction * 100)
                    click.echo(describe(stage, fraction), err=True)

            exported = batch_zip(
                batch,
                made_by=f"{COMMAND_LINE} (flask exports reports)",
                now=_now(),
                progress=progress,
            )
            filename, content = exported.filename, exported.content
            what = "Team reports"
        audit.record(
            session,
            action="export.download",
            summary=f"{what} of “{wave.label}” written from the command line, small groups hidden",
            actor_label=COMMAND_LINE,
            programme_id=wave.programme_id,
            object_type="wave",
            object_id=wave.id,
            now=_now(),
        )
        session.commit()
    target = out or Path(filename)
    target.write_bytes(content)
    seconds = time.perf_counter() - started
    click.echo(
        f"Wrote {target} ({len(content):,} bytes; {len(batch.reports)} team report(s), "
        f"{len(batch.withheld)} team(s) without one) in {seconds:.1f} s."
    )
    for name, why in batch.withheld:
        click.echo(f"No report for {name}: {why}.")
    if batch.problem:
        click.echo(batch.problem)
