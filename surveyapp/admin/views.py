"""The study team's pages, behind sign-in: questionnaires, their versions and previews."""

import base64
import logging
from datetime import time, timedelta

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from surveyapp import catalogue
from surveyapp.admin.forms import (
    CohortConfirmForm,
    CohortUploadForm,
    ParticipantForm,
    ProgrammeForm,
    WaveForm,
)
from surveyapp.auth import login_required, role_required
from surveyapp.db import get_session
from surveyapp.models import Invitation, Participant, Programme, QuestionnaireVersion, Wave
from surveyapp.participants import roster, waves
from surveyapp.questionnaires.answers import as_posted, error_labels, read_page, summary
from surveyapp.timezones import to_local, to_utc
from surveyapp.web.context import get_catalogue, get_questionnaire, now
from surveyapp.web.forms import ActionForm
from surveyapp.web.htmx import render_page_or_fragment

bp = Blueprint("admin", __name__, url_prefix="/admin")
logger = logging.getLogger(__name__)

#: Preview answers live in the signed session cookie, never in the database;
#: long texts are cut so the cookie stays under the browsers' 4 KB limit.
PREVIEW_TEXT_LIMIT = 200


@bp.get("/")
@login_required
def index():
    """Send the study team to the programmes."""
    return redirect(url_for(".programme_list"))


@bp.get("/questionnaires")
@login_required
def questionnaire_list():
    """List every questionnaire file with its state and stored version."""
    loaded = get_catalogue()
    versions = catalogue.latest_versions(get_session())
    return render_template(
        "admin/questionnaire_list.html",
        results=loaded.results,
        versions=versions,
        form=ActionForm(),
    )


@bp.post("/questionnaires/load")
@role_required("programme_manager")
def questionnaires_load():
    """Check the files again and store a version of every changed one."""
    if not ActionForm().validate_on_submit():
        abort(400)
    db = get_session()
    loaded = get_catalogue()
    stored = catalogue.store_versions(db, loaded, now=now(), user=g.user)
    db.commit()
    new = [item for item in stored if item.is_new]
    broken = [result for result in loaded.results if result.errors]
    for item in new:
        logger.info(
            "Questionnaire %s version %s loaded by user %s",
            item.key,
            item.version.number,
            g.user.id,
        )
    message = f"Files checked. {len(new)} new version(s) stored"
    if broken:
        message += f"; {len(broken)} file(s) not loaded because of errors"
    flash(message + ".")
    return redirect(url_for(".questionnaire_list"), code=303)


@bp.get("/questionnaires/<key>")
@login_required
def questionnaire_detail(key: str):
    """Show one questionnaire: its problems, its outline and the history of its versions."""
    result = get_catalogue().result(key) or abort(404)
    versions = catalogue.versions_of(get_session(), key)
    history = [
        (
            version,
            catalogue.changes_between(versions[i + 1], version) if i + 1 < len(versions) else None,
        )
        for i, version in enumerate(versions)
    ]
    current = versions[0] if versions else None
    return render_template(
        "admin/questionnaire_detail.html",
        key=key,
        result=result,
        questionnaire=result.questionnaire,
        history=history,
        is_stored=current is not None and current.content_hash == result.content_hash,
        form=ActionForm(),
    )


@bp.get("/questionnaires/<key>/versions/<int:number>")
@login_required
def version_detail(key: str, number: int):
    """Show (or download with ?download=1) the exact text of one stored version."""
    versions = {version.number: version for version in catalogue.versions_of(get_session(), key)}
    version = versions.get(number) or abort(404)
    if request.args.get("download"):
        return Response(
            version.source_text,
            mimetype="application/yaml",
            headers={
                "Content-Disposition": f'attachment; filename="{key}-v{number}.yaml"',
            },
        )
    return render_template("admin/version_detail.html", key=key, version=version)


# -- preview -----------------------------------------------------------------------------


def _preview_answers(key: str) -> dict:
    return dict(session.get("preview", {}).get(key, {}))


def _keep_preview_answers(key: str, answers: dict) -> None:
    short = {
        answer_id: value[:PREVIEW_TEXT_LIMIT] if isinstance(value, str) else value
        for answer_id, value in answers.items()
    }
    session["preview"] = {key: short}  # one questionnaire at a time keeps the cookie small


@bp.get("/questionnaires/<key>/preview")
@login_required
def preview_start(key: str):
    """Show the start page of a questionnaire as a participant would see it."""
    questionnaire = get_questionnaire(key)
    first = questionnaire.page_after(None, _preview_answers(key))
    return render_template(
        "admin/preview_start.html", questionnaire=questionnaire, first=first, form=ActionForm()
    )


@bp.post("/questionnaires/<key>/preview/start-again")
@login_required
def preview_restart(key: str):
    """Forget the preview answers and go to the first page."""
    get_questionnaire(key)
    if not ActionForm().validate_on_submit():
        abort(400)
    session.pop("preview", None)
    return redirect(url_for(".preview_start", key=key), code=303)


@bp.route("/questionnaires/<key>/preview/<page_id>", methods=["GET", "POST"])
@login_required
def preview_page(key: str, page_id: str):
    """Show one page exactly as a participant sees it; check answers but store nothing."""
    questionnaire = get_questionnaire(key)
    answers = _preview_answers(key)
    try:
        page = questionnaire.page(page_id)
    except KeyError:
        abort(404)
    form = ActionForm()
    posted = as_posted(answers)
    errors: dict[str, str] = {}
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        result = read_page(page, request.form.to_dict(flat=False), answers)
        if result.is_valid:
            answers = questionnaire.relevant_answers({**answers, **result.values})
            _keep_preview_answers(key, answers)
            following = questionnaire.page_after(page.id, answers)
            target = (
                url_for(".preview_page", key=key, page_id=following.id)
                if following
                else url_for(".preview_check", key=key)
            )
            return redirect(target, code=303)
        posted, errors = result.posted, result.errors
    shown = questionnaire.shown_pages(answers)
    position = next((i for i, p in enumerate(shown) if p.id == page.id), None)
    previous = questionnaire.page_before(page.id, answers)
    context = {
        "questionnaire": questionnaire,
        "page": page,
        "items": page.shown_items({**answers, **_typed(page, posted, answers)}),
        "posted": posted,
        "errors": errors,
        "error_labels": error_labels(page, errors),
        "form": form,
        "position": (position or 0) + 1,
        "page_count": len(shown),
        "action": url_for(".preview_page", key=key, page_id=page.id),
        "back": url_for(".preview_page", key=key, page_id=previous.id)
        if previous
        else url_for(".preview_start", key=key),
        "is_preview": True,
    }
    return render_template("admin/preview_page.html", **context), 422 if errors else 200


def _typed(page, posted: dict, answers: dict) -> dict:
    """Answers as typed so far on this page, so items shown by an earlier item stay shown."""
    return read_page(page, posted, answers).values


@bp.get("/questionnaires/<key>/preview/check-answers")
@login_required
def preview_check(key: str):
    """List the preview answers with Change links, as "Check your answers" will."""
    questionnaire = get_questionnaire(key)
    answers = _preview_answers(key)
    return render_template(
        "admin/preview_check.html",
        questionnaire=questionnaire,
        rows=summary(questionnaire, answers),
        form=ActionForm(),
    )


# -- programmes and cohorts --------------------------------------------------------------


def _programme(programme_id: int) -> Programme:
    return get_session().get(Programme, programme_id) or abort(404)


@bp.get("/programmes")
@login_required
def programme_list():
    """List the programmes with their cohorts and waves."""
    db = get_session()
    programmes = db.scalars(select(Programme).order_by(Programme.name)).all()
    sizes = dict(
        db.execute(
            select(Participant.programme_id, func.count(Participant.id)).group_by(
                Participant.programme_id
            )
        ).all()
    )
    return render_template("admin/programme_list.html", programmes=programmes, sizes=sizes)


@bp.route("/programmes/new", methods=["GET", "POST"])
@role_required("programme_manager")
def programme_new():
    """Create a programme."""
    form = ProgrammeForm()
    if form.validate_on_submit():
        db = get_session()
        name = " ".join(form.name.data.split())
        if db.scalar(select(Programme).where(Programme.name == name)) is not None:
            form.name.errors.append("There is already a programme with this name")
        else:
            programme = Programme(
                name=name,
                run_by=" ".join(form.run_by.data.split()),
                description=(form.description.data or "").strip(),
                created_at=now(),
            )
            db.add(programme)
            db.commit()
            logger.info("Programme %s created by user %s", programme.id, g.user.id)
            flash(f"Programme “{programme.name}” created. Now load its cohort.")
            return redirect(url_for(".programme_detail", programme_id=programme.id), code=303)
    status = 422 if form.errors else 200
    return render_template("admin/programme_new.html", form=form), status


@bp.get("/programmes/<int:programme_id>")
@login_required
def programme_detail(programme_id: int):
    """Show a programme: its cohort and its waves with how far each has got."""
    programme = _programme(programme_id)
    db = get_session()
    counts = {wave.id: waves.wave_counts(db, wave) for wave in programme.waves}
    size = db.scalar(
        select(func.count(Participant.id)).where(Participant.programme_id == programme.id)
    )
    return render_template(
        "admin/programme_detail.html", programme=programme, counts=counts, size=size
    )


@bp.route("/programmes/<int:programme_id>/cohort", methods=["GET", "POST"])
@role_required("programme_manager")
def cohort_upload(programme_id: int):
    """Check a cohort file and show every bad row before anything is saved."""
    programme = _programme(programme_id)
    form = CohortUploadForm()
    parsed = content = None
    if form.validate_on_submit():
        data = form.file.data.read()
        parsed = roster.parse_cohort_csv(data)
        content = base64.b64encode(data).decode("ascii")
    status = 422 if form.errors or (parsed and not parsed.is_importable) else 200
    return render_template(
        "admin/cohort_upload.html",
        programme=programme,
        form=form,
        parsed=parsed,
        confirm=CohortConfirmForm(content=content),
    ), status


@bp.post("/programmes/<int:programme_id>/cohort/import")
@role_required("programme_manager")
def cohort_import(programme_id: int):
    """Import the previewed file: add new people, update known ones by ID number."""
    programme = _programme(programme_id)
    form = CohortConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        data = base64.b64decode(form.content.data, validate=True)
    except ValueError:
        abort(400)
    parsed = roster.parse_cohort_csv(data)
    if not parsed.is_importable:
        flash("Nothing was imported: the file has problems. Upload it again to see them.")
        return redirect(url_for(".cohort_upload", programme_id=programme.id), code=303)
    db = get_session()
    result = roster.import_cohort(db, programme, parsed, now=now())
    invited = sum(waves.invite_audience(db, wave) for wave in programme.waves if _is_running(wave))
    db.commit()
    logger.info("Cohort of programme %s imported by user %s", programme.id, g.user.id)
    message = (
        f"Cohort imported: {result.added} added, {result.updated} updated, "
        f"{result.unchanged} unchanged"
    )
    if parsed.problems:
        message += f"; {len(parsed.problems)} row(s) with problems were left out"
    if invited:
        message += f"; {invited} new invitation(s) to open waves"
    flash(message + ".")
    return redirect(url_for(".participant_list", programme_id=programme.id), code=303)


def _is_running(wave: Wave) -> bool:
    return wave.closes_at > now()


@bp.get("/programmes/<int:programme_id>/participants")
@role_required("programme_manager")
def participant_list(programme_id: int):
    """List the cohort with search, filters and paging."""
    programme = _programme(programme_id)
    db = get_session()
    filters = {
        key: request.args.get(key, "").strip() for key in ("q", "team", "region", "role", "status")
    }
    page_number = request.args.get("page", 1, type=int)
    found = roster.search_participants(
        db,
        programme,
        text=filters["q"],
        team=filters["team"],
        region=filters["region"],
        role=filters["role"],
        status=filters["status"],
        page=page_number,
    )
    return render_page_or_fragment(
        "admin/participant_list.html",
        "admin/_participant_rows.html",
        programme=programme,
        found=found,
        filters=filters,
        values=roster.filter_values(db, programme),
        form=ActionForm(),
    )


def _participant(programme_id: int, participant_id: int) -> Participant:
    participant = get_session().get(Participant, participant_id)
    if participant is None or participant.programme_id != programme_id:
        abort(404)
    return participant


@bp.route(
    "/programmes/<int:programme_id>/participants/<int:participant_id>", methods=["GET", "POST"]
)
@role_required("programme_manager")
def participant_edit(programme_id: int, participant_id: int):
    """Change a person's details."""
    participant = _participant(programme_id, participant_id)
    form = ParticipantForm(obj=participant)
    if form.validate_on_submit():
        for field in ("name", "email", "team", "organisation", "region", "role"):
            value = " ".join(getattr(form, field).data.split())
            setattr(participant, field, value.lower() if field == "email" else value)
        participant.updated_at = now()
        get_session().commit()
        logger.info("Participant %s edited by user %s", participant.id, g.user.id)
        flash(f"Details of {participant.name} saved.")
        return redirect(url_for(".participant_list", programme_id=programme_id), code=303)
    status = 422 if form.errors else 200
    return render_template(
        "admin/participant_edit.html",
        participant=participant,
        programme=participant.programme,
        form=form,
        withdraw=ActionForm(),
    ), status


@bp.post("/programmes/<int:programme_id>/participants/<int:participant_id>/withdraw")
@role_required("programme_manager")
def participant_withdraw(programme_id: int, participant_id: int):
    """Withdraw a person: their answers stay, their links and reminders stop."""
    participant = _participant(programme_id, participant_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    roster.withdraw(get_session(), participant, now=now())
    get_session().commit()
    logger.info("Participant %s withdrawn by user %s", participant.id, g.user.id)
    flash(f"{participant.name} is withdrawn. Their links no longer work; their answers are kept.")
    return redirect(url_for(".participant_list", programme_id=programme_id), code=303)


# -- waves -------------------------------------------------------------------------------


@bp.route("/programmes/<int:programme_id>/waves/new", methods=["GET", "POST"])
@role_required("programme_manager")
def wave_new(programme_id: int):
    """Create a wave and invite its audience."""
    programme = _programme(programme_id)
    db = get_session()
    form = WaveForm()
    versions = sorted(catalogue.latest_versions(db).values(), key=lambda v: v.title)
    form.set_choices(versions, roster.filter_values(db, programme))
    if request.method == "GET":
        opens = to_local(now(), current_app.config["STUDY_TIMEZONE"]).replace(
            second=0, microsecond=0
        )
        form.opens_on.data, form.opens_time.data = opens.date(), opens.time()
        closes = opens + timedelta(days=21)
        form.closes_on.data, form.closes_time.data = closes.date(), time(17, 0)
    if form.validate_on_submit():
        zone = current_app.config["STUDY_TIMEZONE"]
        version = db.get(QuestionnaireVersion, int(form.version.data))
        try:
            wave = waves.create_wave(
                db,
                programme=programme,
                version=version,
                label=form.label.data,
                opens_at=to_utc(form.opens_on.data, form.opens_time.data, zone),
                closes_at=to_utc(form.closes_on.data, form.closes_time.data, zone),
                privacy=form.privacy.data,
                target_rate=form.target_rate.data,
                audience={f: getattr(form, f).data for f in waves.AUDIENCE_FIELDS},
                now=now(),
            )
        except waves.WaveProblem as problem:
            db.rollback()
            form.closes_on.errors.append(str(problem))
        else:
            db.commit()
            logger.info("Wave %s created by user %s", wave.id, g.user.id)
            flash(f"Wave “{wave.label}” created with {len(wave.invitations)} invitation(s).")
            return redirect(url_for(".wave_detail", wave_id=wave.id), code=303)
    status = 422 if form.errors else 200
    return render_template(
        "admin/wave_new.html", programme=programme, form=form, has_versions=bool(versions)
    ), status


@bp.get("/waves/<int:wave_id>")
@role_required("programme_manager")
def wave_detail(wave_id: int):
    """Show a wave: its counts and every invitation with its personal link."""
    db = get_session()
    wave = db.get(Wave, wave_id) or abort(404)
    page_number = max(request.args.get("page", 1, type=int), 1)
    per_page = 50
    total = db.scalar(select(func.count(Invitation.id)).where(Invitation.wave_id == wave.id))
    invitations = db.scalars(
        select(Invitation)
        .join(Participant)
        .where(Invitation.wave_id == wave.id)
        .options(joinedload(Invitation.participant))
        .order_by(Participant.id_number)
        .limit(per_page)
        .offset((page_number - 1) * per_page)
    ).all()
    return render_template(
        "admin/wave_detail.html",
        wave=wave,
        counts=waves.wave_counts(db, wave),
        invitations=invitations,
        page=page_number,
        pages=max(1, -(-total // per_page)),
        form=ActionForm(),
    )


@bp.post("/waves/<int:wave_id>/invitations/<int:invitation_id>/reopen")
@role_required("programme_manager")
def invitation_reopen(wave_id: int, invitation_id: int):
    """Let a person change their submitted answers (identified waves only)."""
    db = get_session()
    invitation = db.get(Invitation, invitation_id)
    if invitation is None or invitation.wave_id != wave_id:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        waves.reopen(db, invitation)
    except waves.WaveProblem as problem:
        db.rollback()
        flash(str(problem))
    else:
        db.commit()
        logger.info("Invitation %s reopened by user %s", invitation.id, g.user.id)
        flash(f"The answers of {invitation.participant.name} are reopened on the same link.")
    return redirect(url_for(".wave_detail", wave_id=wave_id), code=303)
