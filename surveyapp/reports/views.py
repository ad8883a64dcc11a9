"""Reports per team of a wave: the list of teams, each team's PDF, and the ZIP of them all.

Behind ``see_results``, as the results pages are. A report is always the suppressed
one (it is made to be sent to the team), whoever asks. Every download is audited.
The ZIP is made in the background (``exports.jobs``, layout ``TEAM_REPORTS``).
"""

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from surveyapp.db import get_session
from surveyapp.exports import STAGES, jobs
from surveyapp.models import Wave
from surveyapp.reports import operations as reports
from surveyapp.reports.forms import ZipForm
from surveyapp.reports.pdf import PDF_MIMETYPE, team_pdf
from surveyapp.web.context import audit_action, now
from surveyapp.web.htmx import render_page_or_fragment
from surveyapp.web.permissions import requires, wave_or_404

bp = Blueprint("reports", __name__, url_prefix="/admin", template_folder="templates")


def _store() -> jobs.JobStore:
    return jobs.store_for(current_app.config, current_app.instance_path)


def _batch_page(wave: Wave, batch: reports.Batch, problem: str = "", status: int = 200):
    return render_template(
        "reports/reports_wave.html", wave=wave, batch=batch, problem=problem, form=ZipForm()
    ), status


@bp.get("/waves/<int:wave_id>/reports")
@requires("see_results")
def reports_wave(wave_id: int):
    """List the teams of a wave with a report, and those without one and why."""
    wave = wave_or_404(wave_id)
    return _batch_page(wave, reports.wave_batch(get_session(), wave, now=now()))


@bp.get("/waves/<int:wave_id>/reports/team")
@requires("see_results")
def reports_team(wave_id: int):
    """Download one team's report (``?team=``) as a PDF."""
    wave = wave_or_404(wave_id)
    team = request.args.get("team", "")
    if not team:
        return redirect(url_for(".reports_wave", wave_id=wave.id), code=303)
    batch = reports.wave_batch(get_session(), wave, now=now())
    report = batch.report(team)
    if report is None:
        why = dict(batch.withheld).get(team) or batch.problem or "there is no such team"
        return _batch_page(wave, batch, f"There is no report for “{team}”: {why}.", 404)
    content = team_pdf(report)
    audit_action(
        "export.download",
        f"Team report of “{team}” for “{wave.label}” downloaded (PDF, small groups hidden)",
        programme_id=wave.programme_id,
        kind="wave",
        number=wave.id,
    )
    get_session().commit()
    return Response(
        content,
        mimetype=PDF_MIMETYPE,
        headers={"Content-Disposition": f'attachment; filename="{report.filename}"'},
    )


@bp.post("/waves/<int:wave_id>/reports/zip")
@requires("see_results")
def reports_zip_start(wave_id: int):
    """Start making the ZIP of every team's report (or find the one already being made)."""
    wave = wave_or_404(wave_id)
    ZipForm().validate()  # CSRFProtect has checked the token before this view runs
    back = redirect(url_for(".reports_wave", wave_id=wave.id), code=303)
    job, new = jobs.find_or_create(
        _store(),
        now(),
        owner=g.user.id,
        wave_id=wave.id,
        file_format="zip",
        layout=jobs.TEAM_REPORTS,
        for_evaluator=True,
        threshold=wave.programme.reporting_threshold,
    )
    if new:
        make_session = current_app.extensions["surveyapp.sessionmaker"]
        jobs.start(_store(), job, make_session, current_app.config["CLOCK"])
    elif job.layout != jobs.TEAM_REPORTS or job.wave_id != wave.id:
        flash("Your other export is still being made. When it is ready, ask for this one again.")
        return back
    return redirect(url_for(".reports_progress", wave_id=wave.id, job=job.id), code=303)


def _own_job(wave: Wave):
    """The signed-in person's own ZIP of this wave's team reports named by ``?job=``, or None."""
    store = _store()
    store.remove_expired(now())
    job = store.get(request.args.get("job"))
    if job is None or job.owner != g.user.id or job.layout != jobs.TEAM_REPORTS:
        return None
    return job if job.wave_id == wave.id else None


def _gone(wave: Wave):
    return render_template("reports/reports_gone.html", wave=wave), 410


@bp.get("/waves/<int:wave_id>/reports/progress")
@requires("see_results")
def reports_progress(wave_id: int):
    """How far the ZIP has got; htmx asks again every second until it is ready."""
    wave = wave_or_404(wave_id)
    job = _own_job(wave)
    if job is None:
        return _gone(wave)
    return render_page_or_fragment(
        "reports/reports_progress.html",
        "reports/_reports_progress.html",
        wave=wave,
        job=job,
        stages=len(STAGES),
        ready=jobs.READY,
        failed=jobs.FAILED,
        max_age_minutes=int(jobs.MAX_AGE.total_seconds() // 60),
    )


@bp.get("/waves/<int:wave_id>/reports/file")
@requires("see_results")
def reports_file(wave_id: int):
    """Hand over the ZIP, once; it is then removed."""
    wave = wave_or_404(wave_id)
    job = _own_job(wave)
    if job is None:
        return _gone(wave)
    if job.state != jobs.READY:
        return redirect(url_for(".reports_progress", wave_id=wave.id, job=job.id), 303)
    content = _store().take(job)
    if content is None:
        return _gone(wave)
    audit_action(
        "export.download",
        f"Team reports of “{wave.label}” downloaded (ZIP of PDFs, small groups hidden)",
        programme_id=wave.programme_id,
        kind="wave",
        number=wave.id,
    )
    get_session().commit()
    return Response(
        content,
        content_type=job.mimetype,
        headers={"Content-Disposition": f'attachment; filename="{job.filename}"'},
    )
