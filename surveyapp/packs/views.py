"""The evaluator's pack of a programme: start it, watch it being made, download it once.

The pack is always made in the background (``exports.jobs``, layout ``PACK``), behind
the same checks as a wave's export: ``see_results`` for the suppressed pack, and
``see_small_groups`` as well for the full one. The download is audited.
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
from sqlalchemy import func, select

from surveyapp.db import get_session
from surveyapp.exports import STAGES, jobs
from surveyapp.models import Programme, Wave
from surveyapp.models import Response as SurveyResponse
from surveyapp.staff import access
from surveyapp.web.context import audit_action, now
from surveyapp.web.forms import ActionForm
from surveyapp.web.htmx import render_page_or_fragment
from surveyapp.web.permissions import ask_for_password_again, programme_or_404, requires

bp = Blueprint("pack", __name__, url_prefix="/admin", template_folder="templates")


def _store() -> jobs.JobStore:
    return jobs.store_for(current_app.config, current_app.instance_path)


def _has_answers(programme: Programme) -> bool:
    released = select(func.count(SurveyResponse.id)).where(
        SurveyResponse.wave_id.in_(select(Wave.id).where(Wave.programme_id == programme.id)),
        SurveyResponse.release.is_not(None),
    )
    return bool(get_session().scalar(released))


@bp.post("/programmes/<int:programme_id>/pack")
@requires("see_results")
def pack_start(programme_id: int):
    """Start making the programme's pack (or find the one already being made)."""
    programme = programme_or_404(programme_id)
    back = redirect(url_for("people.programme_detail", programme_id=programme.id), code=303)
    ActionForm().validate()  # CSRFProtect has checked the token before this view runs
    # The full pack needs the right to see small groups, as a full export does.
    for_evaluator = not (request.form.get("full") == "1" and access.can(g.user, "see_small_groups"))
    if not for_evaluator:
        # The full data: only with the password given lately; then back to ask again.
        asked = ask_for_password_again(
            url_for("people.programme_detail", programme_id=programme.id)
        )
        if asked is not None:
            return asked
    if not _has_answers(programme):
        flash("There are no answers to put in a pack yet. Try again once a wave has answers.")
        return back
    job, new = jobs.find_or_create(
        _store(),
        now(),
        owner=g.user.id,
        wave_id=0,
        file_format="zip",
        layout=jobs.PACK,
        for_evaluator=for_evaluator,
        threshold=programme.reporting_threshold,
        programme_id=programme.id,
    )
    if new:
        make_session = current_app.extensions["surveyapp.sessionmaker"]
        jobs.start(_store(), job, make_session, current_app.config["CLOCK"])
    elif job.layout != jobs.PACK or job.programme_id != programme.id:
        flash("Your other export is still being made. When it is ready, ask for the pack again.")
        return back
    return redirect(url_for(".pack_progress", programme_id=programme.id, job=job.id), code=303)


def _own_job(programme: Programme):
    """The signed-in person's own pack of this programme named by ``?job=``, or None."""
    store = _store()
    store.remove_expired(now())
    job = store.get(request.args.get("job"))
    if job is None or job.owner != g.user.id or job.layout != jobs.PACK:
        return None
    if job.programme_id != programme.id:
        return None
    if not job.for_evaluator and not access.can(g.user, "see_small_groups"):
        return None
    return job


def _gone(programme: Programme):
    return render_template("packs/pack_gone.html", programme=programme), 410


@bp.get("/programmes/<int:programme_id>/pack/progress")
@requires("see_results")
def pack_progress(programme_id: int):
    """How far the pack has got; htmx asks again every second until it is ready."""
    programme = programme_or_404(programme_id)
    job = _own_job(programme)
    if job is None:
        return _gone(programme)
    return render_page_or_fragment(
        "packs/pack_progress.html",
        "packs/_pack_progress.html",
        programme=programme,
        job=job,
        stages=len(STAGES),
        ready=jobs.READY,
        failed=jobs.FAILED,
        max_age_minutes=int(jobs.MAX_AGE.total_seconds() // 60),
    )


@bp.get("/programmes/<int:programme_id>/pack/file")
@requires("see_results")
def pack_file(programme_id: int):
    """Hand over the pack, once; it is then removed."""
    programme = programme_or_404(programme_id)
    job = _own_job(programme)
    if job is None:
        return _gone(programme)
    if job.state != jobs.READY:
        return redirect(url_for(".pack_progress", programme_id=programme.id, job=job.id), 303)
    content = _store().take(job)
    if content is None:
        return _gone(programme)
    audit_action(
        "export.download",
        f"Evaluator's pack of “{programme.name}” downloaded, "
        + ("small groups hidden" if job.for_evaluator else "full data"),
        programme_id=programme.id,
        kind="programme",
        number=programme.id,
    )
    get_session().commit()
    return Response(
        content,
        content_type=job.mimetype,
        headers={"Content-Disposition": f'attachment; filename="{job.filename}"'},
    )
