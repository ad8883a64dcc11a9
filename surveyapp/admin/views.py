"""The study team's pages, behind sign-in: questionnaires, programmes, waves, their
dashboards and reminders."""

import base64
import logging
import secrets
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

from surveyapp import access, audit, catalogue, dashboard, results, scoring
from surveyapp.admin.forms import (
    CohortConfirmForm,
    CohortUploadForm,
    NewTemplateForm,
    ParticipantForm,
    ProgrammeForm,
    SampleForm,
    StepForm,
    TemplateForm,
    WaveForm,
)
from surveyapp.auth import login_required
from surveyapp.db import get_session
from surveyapp.exports import (
    FORMATS,
    LAYOUTS,
    STAGES,
    ExportTooLarge,
    check_choice,
    export_wave,
    jobs,
)
from surveyapp.mail import mailer_from_config, message_id_for
from surveyapp.models import (
    EmailTemplate,
    Invitation,
    Message,
    Participant,
    Programme,
    QuestionnaireVersion,
    ReminderStep,
    Wave,
)
from surveyapp.participants import roster, waves
from surveyapp.questionnaires.answers import as_posted, error_labels, read_page, summary
from surveyapp.reminders import sending, templates
from surveyapp.timezones import to_local, to_utc
from surveyapp.web.context import get_catalogue, get_questionnaire, now, version_questionnaire
from surveyapp.web.filters import local_time
from surveyapp.web.forms import ActionForm
from surveyapp.web.htmx import render_page_or_fragment, wants_fragment
from surveyapp.web.permissions import (
    id_arg,
    participant_or_404,
    programme_or_404,
    requires,
    wave_or_404,
)

bp = Blueprint("admin", __name__, url_prefix="/admin")
logger = logging.getLogger(__name__)

#: Preview answers live in the signed session cookie, never in the database;
#: long texts are cut so the cookie stays under the browsers' 4 KB limit.
PREVIEW_TEXT_LIMIT = 200


def _audit(action: str, summary: str, *, programme_id=None, kind="", number="") -> None:
    """Add an entry to the audit trail, committed with the change it describes."""
    audit.record(
        get_session(),
        action=action,
        summary=summary,
        actor=g.user,
        programme_id=programme_id,
        object_type=kind,
        object_id=number,
        now=now(),
    )


@bp.get("/")
@login_required
def index():
    """Send the study team to the programmes."""
    return redirect(url_for(".programme_list"))


@bp.get("/questionnaires")
@requires("see_questionnaires")
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
@requires("load_questionnaires")
def questionnaires_load():
    """Check the files again and store a version of every changed one."""
    if not ActionForm().validate_on_submit():
        abort(400)
    db = get_session()
    loaded = get_catalogue()
    stored = catalogue.store_versions(db, loaded, now=now(), user=g.user)
    new = [item for item in stored if item.is_new]
    broken = [result for result in loaded.results if result.errors]
    for item in new:
        _audit(
            "questionnaire.load",
            f"{item.key} version {item.version.number} loaded",
            kind="questionnaire version",
            number=item.version.id,
        )
    db.commit()
    message = f"Files checked. {len(new)} new version(s) stored"
    if broken:
        message += f"; {len(broken)} file(s) not loaded because of errors"
    flash(message + ".")
    return redirect(url_for(".questionnaire_list"), code=303)


@bp.get("/questionnaires/<key>")
@requires("see_questionnaires")
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
@requires("see_questionnaires")
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
@requires("see_questionnaires")
def preview_start(key: str):
    """Show the start page of a questionnaire as a participant would see it."""
    questionnaire = get_questionnaire(key)
    first = questionnaire.page_after(None, _preview_answers(key))
    return render_template(
        "admin/preview_start.html", questionnaire=questionnaire, first=first, form=ActionForm()
    )


@bp.post("/questionnaires/<key>/preview/start-again")
@requires("see_questionnaires")
def preview_restart(key: str):
    """Forget the preview answers and go to the first page."""
    get_questionnaire(key)
    if not ActionForm().validate_on_submit():
        abort(400)
    session.pop("preview", None)
    return redirect(url_for(".preview_start", key=key), code=303)


@bp.route("/questionnaires/<key>/preview/<page_id>", methods=["GET", "POST"])
@requires("see_questionnaires")
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
    revealed: list[str] = []
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
        posted, errors, revealed = result.posted, result.errors, result.revealed
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
        "revealed": revealed,
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
@requires("see_questionnaires")
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


@bp.get("/programmes")
@requires("see_programmes")
def programme_list():
    """List the programmes with their cohorts and waves."""
    db = get_session()
    programmes = db.scalars(access.visible_programmes(g.user).order_by(Programme.name)).all()
    sizes = dict(
        db.execute(
            select(Participant.programme_id, func.count(Participant.id)).group_by(
                Participant.programme_id
            )
        ).all()
    )
    return render_template("admin/programme_list.html", programmes=programmes, sizes=sizes)


def _fill_programme(programme: Programme, form: ProgrammeForm) -> bool:
    """Copy the form into ``programme``; False (with the error on the name) if the name is taken."""
    name = " ".join(form.name.data.split())
    others = select(Programme.id).where(Programme.name == name)
    if programme.id is not None:
        others = others.where(Programme.id != programme.id)
    if get_session().scalar(others) is not None:
        form.name.errors.append("There is already a programme with this name")
        return False
    programme.name = name
    programme.run_by = " ".join(form.run_by.data.split())
    programme.description = (form.description.data or "").strip()
    programme.reporting_threshold = form.reporting_threshold.data or 5
    programme.contact_retention_until = form.contact_retention_until.data
    return True


@bp.route("/programmes/new", methods=["GET", "POST"])
@requires("manage_programmes")
def programme_new():
    """Create a programme."""
    form = ProgrammeForm()
    programme = Programme(created_at=now())
    if form.validate_on_submit() and _fill_programme(programme, form):
        db = get_session()
        db.add(programme)
        db.flush()
        access.add_member(db, g.user, programme)
        _audit(
            "programme.create",
            f"Programme “{programme.name}” created",
            programme_id=programme.id,
            kind="programme",
            number=programme.id,
        )
        db.commit()
        flash(f"Programme “{programme.name}” created. Now load its cohort.")
        return redirect(url_for(".programme_detail", programme_id=programme.id), code=303)
    status = 422 if form.errors else 200
    return render_template("admin/programme_new.html", form=form), status


@bp.route("/programmes/<int:programme_id>/edit", methods=["GET", "POST"])
@requires("manage_programmes")
def programme_edit(programme_id: int):
    """Change a programme's name, who runs it, its description or its reporting threshold."""
    programme = programme_or_404(programme_id)
    form = ProgrammeForm(obj=programme)
    if form.validate_on_submit() and _fill_programme(programme, form):
        _audit(
            "programme.change",
            f"Details of programme “{programme.name}” changed",
            programme_id=programme.id,
            kind="programme",
            number=programme.id,
        )
        get_session().commit()
        flash("Programme details saved.")
        return redirect(url_for(".programme_detail", programme_id=programme.id), code=303)
    status = 422 if form.errors else 200
    return render_template("admin/programme_edit.html", programme=programme, form=form), status


@bp.get("/programmes/<int:programme_id>")
@requires("see_programmes")
def programme_detail(programme_id: int):
    """Show a programme: its cohort, its waves side by side and retention from the first."""
    programme = programme_or_404(programme_id)
    db = get_session()
    size = db.scalar(
        select(func.count(Participant.id)).where(Participant.programme_id == programme.id)
    )
    return render_template(
        "admin/programme_detail.html",
        programme=programme,
        overview=dashboard.programme_overview(db, programme),
        size=size,
    )


@bp.route("/programmes/<int:programme_id>/cohort", methods=["GET", "POST"])
@requires("manage_cohort")
def cohort_upload(programme_id: int):
    """Check a cohort file and show every bad row before anything is saved."""
    programme = programme_or_404(programme_id)
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
@requires("manage_cohort")
def cohort_import(programme_id: int):
    """Import the previewed file: add new people, update known ones by ID number."""
    programme = programme_or_404(programme_id)
    form = CohortConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        data = base64.b64decode(form.content.data, validate=True)
    except ValueError:
        abort(400)
    parsed = roster.parse_cohort_csv(data)
    if not parsed.is_importable:
        flash("Nothing was imported: the file has problems. Upload it again to see them.", "error")
        return redirect(url_for(".cohort_upload", programme_id=programme.id), code=303)
    db = get_session()
    result = roster.import_cohort(
        db, programme, parsed, now=now(), erasure_key=current_app.config["SECRET_KEY"].encode()
    )
    invited = sum(waves.invite_audience(db, wave) for wave in programme.waves if _is_running(wave))
    _audit(
        "cohort.import",
        f"Cohort file imported: {result.added} added, {result.updated} updated, "
        f"{result.unchanged} unchanged, {len(parsed.problems)} rows left out, "
        f"{result.erased} erased people left out, {invited} invited",
        programme_id=programme.id,
        kind="programme",
        number=programme.id,
    )
    db.commit()
    message = (
        f"Cohort imported: {result.added} added, {result.updated} updated, "
        f"{result.unchanged} unchanged"
    )
    if parsed.problems:
        message += f"; {len(parsed.problems)} row(s) with problems were left out"
    if result.erased:
        message += (
            f"; {result.erased} row(s) left out because those people asked for their data "
            "to be erased"
        )
    if invited:
        message += f"; {invited} new invitation(s) to open waves"
    flash(message + ".")
    return redirect(url_for(".participant_list", programme_id=programme.id), code=303)


def _is_running(wave: Wave) -> bool:
    return wave.closes_at > now()


@bp.get("/programmes/<int:programme_id>/participants")
@requires("manage_cohort")
def participant_list(programme_id: int):
    """List the cohort with search, filters and paging."""
    programme = programme_or_404(programme_id)
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


@bp.route(
    "/programmes/<int:programme_id>/participants/<int:participant_id>", methods=["GET", "POST"]
)
@requires("manage_cohort")
def participant_edit(programme_id: int, participant_id: int):
    """Change a person's details."""
    participant = participant_or_404(programme_id, participant_id)
    form = ParticipantForm(obj=participant)
    if request.method == "POST" and participant.contact_removed_at is not None:
        # Details removed on purpose (erasure or the retention date) are not typed back in here.
        abort(409)
    if form.validate_on_submit():
        changed = []
        for field in ("name", "email", "team", "organisation", "region", "role"):
            value = " ".join(getattr(form, field).data.split())
            value = value.lower() if field == "email" else value
            if getattr(participant, field) != value:
                changed.append(field)
                setattr(participant, field, value)
        participant.updated_at = now()
        _audit(
            "participant.change",
            f"{audit.person(participant).capitalize()}: "
            + (", ".join(changed) + " changed" if changed else "saved unchanged"),
            programme_id=programme_id,
            kind="participant",
            number=participant.id,
        )
        get_session().commit()
        flash(f"Details of {participant.name} saved.")
        return redirect(url_for(".participant_list", programme_id=programme_id), code=303)
    status = 422 if form.errors else 200
    return render_template(
        "admin/participant_edit.html",
        participant=participant,
        programme=participant.programme,
        form=form,
        withdraw=ActionForm(),
        messages=dashboard.messages_to(get_session(), participant),
    ), status


@bp.post("/programmes/<int:programme_id>/participants/<int:participant_id>/withdraw")
@requires("manage_cohort")
def participant_withdraw(programme_id: int, participant_id: int):
    """Withdraw a person: their answers stay, their links and reminders stop."""
    participant = participant_or_404(programme_id, participant_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    roster.withdraw(get_session(), participant, now=now())
    _audit(
        "participant.withdraw",
        f"{audit.person(participant).capitalize()} withdrawn",
        programme_id=programme_id,
        kind="participant",
        number=participant.id,
    )
    get_session().commit()
    flash(f"{participant.name} is withdrawn. Their links no longer work; their answers are kept.")
    return redirect(url_for(".participant_list", programme_id=programme_id), code=303)


# -- waves -------------------------------------------------------------------------------


@bp.route("/programmes/<int:programme_id>/waves/new", methods=["GET", "POST"])
@requires("manage_waves")
def wave_new(programme_id: int):
    """Create a wave and invite its audience."""
    programme = programme_or_404(programme_id)
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
    counting = request.method == "POST" and "count" in request.form
    if not counting and form.validate_on_submit():
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
                audience=form.audience(),
                now=now(),
            )
        except waves.WaveProblem as problem:
            db.rollback()
            form.closes_on.errors.append(str(problem))
        else:
            _audit(
                "wave.create",
                f"Wave “{wave.label}” created ({wave.privacy}, {len(wave.invitations)} invited)",
                programme_id=programme.id,
                kind="wave",
                number=wave.id,
            )
            db.commit()
            flash(f"Wave “{wave.label}” created with {len(wave.invitations)} invitation(s).")
            return redirect(url_for(".wave_detail", wave_id=wave.id), code=303)
    status = 422 if form.errors else 200
    return render_template(
        "admin/wave_new.html",
        programme=programme,
        form=form,
        has_versions=bool(versions),
        invited=_audience_size(programme, form),
    ), status


def _audience_size(programme: Programme, form: WaveForm) -> int:
    """How many the ticked roles, teams and regions invite (only values the form offers)."""
    return waves.audience_size(get_session(), programme, form.audience())


@bp.get("/programmes/<int:programme_id>/waves/new/audience")
@requires("manage_waves")
def wave_audience(programme_id: int):
    """The count of people the ticked boxes invite, for the live count on Create a wave."""
    programme = programme_or_404(programme_id)
    form = WaveForm(formdata=request.args, meta={"csrf": False})
    form.set_choices([], roster.filter_values(get_session(), programme))
    return render_template("admin/_audience_count.html", invited=_audience_size(programme, form))


@bp.get("/waves/<int:wave_id>")
@requires("manage_waves")
def wave_detail(wave_id: int):
    """Show a wave: its counts and every invitation with its personal link."""
    db = get_session()
    wave = wave_or_404(wave_id)
    per_page = 50
    total = db.scalar(select(func.count(Invitation.id)).where(Invitation.wave_id == wave.id))
    page_number = min(_page_number(), max(1, -(-total // per_page)))
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
        is_open=wave.opens_at <= now() < wave.closes_at,
        counts=waves.wave_counts(db, wave),
        invitations=invitations,
        page=page_number,
        pages=max(1, -(-total // per_page)),
        form=ActionForm(),
    )


@bp.post("/waves/<int:wave_id>/close")
@requires("manage_waves")
def wave_close(wave_id: int):
    """Close a wave before its closing date: no more answers, no more reminders."""
    db = get_session()
    wave = wave_or_404(wave_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        cancelled = waves.close_wave(db, wave, now=now())
    except waves.WaveProblem as problem:
        db.rollback()
        flash(str(problem), "error")
    else:
        _audit(
            "wave.close",
            f"Wave “{wave.label}” closed early; {cancelled} queued message(s) cancelled",
            programme_id=wave.programme_id,
            kind="wave",
            number=wave.id,
        )
        db.commit()
        flash(f"“{wave.label}” is closed. Links no longer take answers.")
    return redirect(url_for(".wave_detail", wave_id=wave.id), code=303)


@bp.post("/waves/<int:wave_id>/invitations/<int:invitation_id>/reopen")
@requires("manage_waves")
def invitation_reopen(wave_id: int, invitation_id: int):
    """Let a person change their submitted answers (identified waves only)."""
    db = get_session()
    wave = wave_or_404(wave_id)
    invitation = db.get(Invitation, invitation_id)
    if invitation is None or invitation.wave_id != wave.id:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        waves.reopen(db, invitation)
    except waves.WaveProblem as problem:
        db.rollback()
        flash(str(problem), "error")
    else:
        _audit(
            "response.reopen",
            f"Response of {audit.person(invitation.participant)} to “{wave.label}” reopened",
            programme_id=wave.programme_id,
            kind="invitation",
            number=invitation.id,
        )
        db.commit()
        flash(f"The answers of {invitation.participant.name} are reopened on the same link.")
    return redirect(url_for(".wave_detail", wave_id=wave_id), code=303)


# -- dashboard ---------------------------------------------------------------------------

#: Rows per page of every list.
PER_PAGE = 50
#: Messages "Send now" delivers while the administrator waits; `flask reminders send`
#: (run by cron) delivers whatever is left.
SEND_NOW_LIMIT = 500


def _zone() -> str:
    return current_app.config["STUDY_TIMEZONE"]


def _page_number() -> int:
    return max(request.args.get("page", 1, type=int), 1)


def _csv_download(text: str, filename: str) -> Response:
    # A byte order mark, so Excel reads names such as Siân as UTF-8.
    return Response(
        "\ufeff" + text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get("/waves/<int:wave_id>/dashboard")
@requires("see_dashboards")
def wave_dashboard(wave_id: int):
    """Show a wave's response: counts against the target, by group and over time."""
    db = get_session()
    wave = wave_or_404(wave_id)
    counts = dashboard.wave_counts(db, wave)
    if wants_fragment():  # the counts panel refreshing itself needs nothing more
        return render_page_or_fragment(
            "admin/wave_dashboard.html",
            "admin/_wave_counts.html",
            wave=wave,
            counts=counts,
            updated=now(),
        )
    sort = request.args.get("sort", "name")
    sort = sort if sort in dashboard.SORTS else "name"
    direction = "desc" if request.args.get("dir") == "desc" else "asc"
    days = dashboard.completions_by_day(db, wave, now=now(), zone=_zone())
    return render_page_or_fragment(
        "admin/wave_dashboard.html",
        "admin/_wave_counts.html",
        wave=wave,
        counts=counts,
        updated=now(),
        breakdowns={
            by: dashboard.breakdown(db, wave, by, sort=sort, descending=direction == "desc")
            for by in dashboard.BREAKDOWNS
        },
        headings=dashboard.BREAKDOWNS,
        sort=sort,
        direction=direction,
        days=days,
        chart=dashboard.completions_chart(
            days, invited=counts.invited, target=counts.target, target_rate=wave.target_rate
        ),
    )


@bp.get("/waves/<int:wave_id>/non-respondents")
@requires("manage_cohort")
def non_respondent_list(wave_id: int):
    """List the people who have not completed, with how far they got, for follow-up."""
    db = get_session()
    wave = wave_or_404(wave_id)
    return render_template(
        "admin/non_respondent_list.html",
        wave=wave,
        found=dashboard.non_respondents(db, wave, page=_page_number(), per_page=PER_PAGE),
    )


@bp.get("/waves/<int:wave_id>/non-respondents.csv")
@requires("manage_cohort")
def non_respondent_csv(wave_id: int):
    """Download the non-respondents with their contact details, for phone calls."""
    db = get_session()
    wave = wave_or_404(wave_id)
    text = dashboard.non_respondents_csv(dashboard.all_non_respondents(db, wave), zone=_zone())
    _audit(
        "export.download",
        f"Non-respondents of “{wave.label}” downloaded (names and emails)",
        programme_id=wave.programme_id,
        kind="wave",
        number=wave.id,
    )
    db.commit()
    return _csv_download(text, f"non-respondents-wave-{wave.id}.csv")


@bp.get("/waves/<int:wave_id>/non-respondents/sample")
@requires("manage_cohort")
def non_respondent_sample(wave_id: int):
    """Draw a reproducible random sample of non-respondents (?download=csv to download it)."""
    db = get_session()
    wave = wave_or_404(wave_id)
    asked = "seed" in request.args
    form = SampleForm(formdata=request.args if asked else None)
    if not asked:
        form.size.data, form.seed.data = 10, secrets.randbelow(1_000_000)
    sample = None
    if asked and form.validate():
        sample = dashboard.sample_non_respondents(
            db, wave, size=form.size.data, seed=form.seed.data, by_region=form.by_region.data
        )
        if request.args.get("download") == "csv":
            _audit(
                "export.download",
                f"Sample of {len(sample.people)} non-respondents of “{wave.label}” downloaded "
                f"(seed {form.seed.data})",
                programme_id=wave.programme_id,
                kind="wave",
                number=wave.id,
            )
            db.commit()
            text = dashboard.non_respondents_csv(sample.people, zone=_zone())
            return _csv_download(text, f"sample-wave-{wave.id}-seed-{form.seed.data}.csv")
    return render_template(
        "admin/non_respondent_sample.html", wave=wave, form=form, sample=sample
    ), 422 if form.errors else 200


# -- reminders ---------------------------------------------------------------------------


def _step(wave: Wave, step_id: int) -> ReminderStep:
    step = get_session().get(ReminderStep, step_id)
    if step is None or step.wave_id != wave.id:
        abort(404)
    return step


def _template(wave: Wave, template_id: int) -> EmailTemplate:
    template = get_session().get(EmailTemplate, template_id)
    if template is None or template.wave_id != wave.id:
        abort(404)
    return template


def _templates_of(wave: Wave) -> list[EmailTemplate]:
    return list(
        get_session().scalars(
            select(EmailTemplate)
            .where(EmailTemplate.wave_id == wave.id)
            .order_by(EmailTemplate.name)
        )
    )


@bp.get("/waves/<int:wave_id>/reminders")
@requires("manage_waves")
def reminder_plan(wave_id: int):
    """Show the wave's reminder plan: each step, when it is due, to whom, and what happened."""
    db = get_session()
    wave = wave_or_404(wave_id)
    # Held while the page renders, so each step finds its email without a query.
    wave_templates = _templates_of(wave)
    return render_template(
        "admin/reminder_plan.html",
        wave=wave,
        templates=wave_templates,
        steps=[(step, sending.due_at(step)) for step in sending.steps_of(db, wave)],
        counts=dashboard.message_counts(db, wave),
        audiences=dashboard.AUDIENCE_WORDS,
        send_problem=dashboard.send_problem(wave, now()),
        form=ActionForm(),
    )


@bp.route("/waves/<int:wave_id>/reminders/steps/new", methods=["GET", "POST"])
@requires("manage_waves")
def reminder_step_new(wave_id: int):
    """Add a step to the wave's reminder plan."""
    return _step_form(wave_or_404(wave_id), None)


@bp.route("/waves/<int:wave_id>/reminders/steps/<int:step_id>", methods=["GET", "POST"])
@requires("manage_waves")
def reminder_step_edit(wave_id: int, step_id: int):
    """Change when a step is sent, to whom and with which email."""
    wave = wave_or_404(wave_id)
    return _step_form(wave, _step(wave, step_id))


def _step_form(wave: Wave, step: ReminderStep | None):
    db = get_session()
    zone = _zone()
    form = StepForm(obj=step)
    wave_templates = _templates_of(wave)
    form.set_choices(wave_templates)
    if request.method == "GET":
        if step is None:
            reminder = next((t for t in wave_templates if t.name == "reminder"), None)
            form.when.data, form.audience.data = "days", "not_completed"
            form.template.data = str(reminder.id) if reminder else None
        else:
            form.when.data = "date" if step.send_on else "days"
            if step.send_on:
                local = to_local(step.send_on, zone)
                form.send_on.data, form.send_time.data = local.date(), local.time()
            form.audience.data = "not_completed" if step.audience == "everyone" else step.audience
            form.template.data = str(step.template_id)
    if form.validate_on_submit():
        by_date = form.when.data == "date"
        try:
            saved = dashboard.save_step(
                db,
                wave,
                step,
                label=form.label.data,
                send_on=to_utc(form.send_on.data, form.send_time.data, zone) if by_date else None,
                days_after_opening=None if by_date else form.days_after_opening.data,
                audience=form.audience.data,
                template=db.get(EmailTemplate, int(form.template.data)),
                deadline_working_days=form.deadline_working_days.data,
            )
        except dashboard.StepProblem as problem:
            db.rollback()
            (form.send_on if by_date else form.days_after_opening).errors.append(str(problem))
        else:
            _audit(
                "reminders.plan",
                f"Step “{saved.label}” of “{wave.label}” {'added' if step is None else 'changed'}",
                programme_id=wave.programme_id,
                kind="reminder step",
                number=saved.id,
            )
            db.commit()
            flash(f"“{saved.label}” saved: due {local_time(sending.due_at(saved))}.")
            return redirect(url_for(".reminder_plan", wave_id=wave.id), code=303)
    status = 422 if form.errors else 200
    name = "admin/reminder_step_new.html" if step is None else "admin/reminder_step_edit.html"
    return render_template(name, wave=wave, step=step, form=form), status


@bp.post("/waves/<int:wave_id>/reminders/steps/<int:step_id>/delete")
@requires("manage_waves")
def reminder_step_delete(wave_id: int, step_id: int):
    """Take a step that has sent nothing out of the plan."""
    db = get_session()
    wave = wave_or_404(wave_id)
    step = _step(wave, step_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    label = step.label
    try:
        dashboard.delete_step(db, step)
    except dashboard.StepProblem as problem:
        db.rollback()
        flash(str(problem), "error")
    else:
        _audit(
            "reminders.plan",
            f"Step “{label}” of “{wave.label}” taken out of the plan",
            programme_id=wave.programme_id,
            kind="reminder step",
            number=step_id,
        )
        db.commit()
        flash(f"“{label}” is no longer in the plan.")
    return redirect(url_for(".reminder_plan", wave_id=wave.id), code=303)


@bp.route("/waves/<int:wave_id>/reminders/steps/<int:step_id>/send", methods=["GET", "POST"])
@requires("manage_waves")
def reminder_send(wave_id: int, step_id: int):
    """Show exactly who a step would go to now and what they would get; send on confirm."""
    db = get_session()
    wave = wave_or_404(wave_id)
    step = _step(wave, step_id)
    form = ActionForm()
    problem = dashboard.send_problem(wave, now())
    settings = sending.settings_from_config(current_app.config)
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        if problem:
            flash(problem, "error")
            return redirect(url_for(".reminder_plan", wave_id=wave.id), code=303)
        return _send_now(wave, step, settings)
    people = dashboard.new_recipients(db, step)
    page = max(1, min(_page_number(), max(1, -(-len(people) // PER_PAGE))))
    shown = people[(page - 1) * PER_PAGE : page * PER_PAGE]
    rendered = [(i, sending.render_for(i, step, now(), settings)) for i in shown]
    return render_template(
        "admin/reminder_send.html",
        wave=wave,
        step=step,
        audience=dashboard.AUDIENCE_WORDS[step.audience],
        rendered=rendered,
        total=len(people),
        page=page,
        pages=max(1, -(-len(people) // PER_PAGE)),
        problem=problem,
        transport="smtp" if current_app.config.get("MAIL_SERVER") else "outbox",
        form=form,
    )


def _send_now(wave: Wave, step: ReminderStep, settings: sending.SendSettings):
    db = get_session()
    queued = sending.queue_step(db, step, now=now(), settings=settings)
    _audit(
        "reminders.send",
        f"“{step.label}” of “{wave.label}” sent now: {queued} message(s) queued",
        programme_id=wave.programme_id,
        kind="reminder step",
        number=step.id,
    )
    db.commit()  # the sender works in its own sessions, and SQLite allows one writer
    try:
        mailer = mailer_from_config(current_app.config)
    except ValueError as error:
        flash(f"{queued} message(s) queued but none sent: {error}", "error")
        return redirect(url_for(".reminder_plan", wave_id=wave.id), code=303)
    report = sending.deliver(
        current_app.extensions["surveyapp.sessionmaker"],
        mailer,
        clock=current_app.config["CLOCK"],
        settings=settings,
        limit=SEND_NOW_LIMIT,
    )
    logger.info(
        "Delivery after sending step %s of wave %s by user %s: %s sent, %s failed, %s cancelled",
        step.id,
        wave.id,
        g.user.id,
        report.sent,
        report.failed,
        report.cancelled,
    )
    where = "kept in the outbox" if mailer.transport == "outbox" else "sent"
    message = f"“{step.label}”: {queued} new message(s). {report.sent} {where}"
    if report.failed:
        message += f", {report.failed} failed (they are retried later)"
    if report.cancelled:
        message += f", {report.cancelled} not sent because the person no longer qualifies"
    flash(message + ".")
    return redirect(url_for(".reminder_plan", wave_id=wave.id), code=303)


@bp.get("/waves/<int:wave_id>/reminders/emails")
@requires("manage_waves")
def template_list(wave_id: int):
    """List the wave's emails and the steps that use each."""
    db = get_session()
    wave = wave_or_404(wave_id)
    wave_templates = _templates_of(wave)
    used: dict[int, list[str]] = {}
    for step in sending.steps_of(db, wave):
        used.setdefault(step.template_id, []).append(step.label)
    return render_template(
        "admin/template_list.html", wave=wave, templates=wave_templates, used=used
    )


def _problems_to_fields(form: TemplateForm, problems: dict[str, str]) -> None:
    for part, message in problems.items():
        getattr(form, part).errors = [*getattr(form, part).errors, message]


def _template_page(wave: Wave, template: EmailTemplate | None, form: TemplateForm, people):
    """What the email editor shows, with the preview for the chosen person."""
    db = get_session()
    chosen = next((i for i in people if str(i.id) == form.participant.data), None)
    if chosen is None and people:
        chosen = people[0]
        form.participant.data = str(chosen.id)
    step = dashboard.template_step(db, wave, template)
    return {
        "wave": wave,
        "template": template,
        "form": form,
        "fields": templates.FIELDS,
        "preview": dashboard.preview_template(
            form.subject.data or "",
            form.body.data or "",
            chosen,
            step,
            now=now(),
            settings=sending.settings_from_config(current_app.config),
        ),
        "chosen": chosen,
    }


@bp.route("/waves/<int:wave_id>/reminders/emails/new", methods=["GET", "POST"])
@requires("manage_waves")
def template_new(wave_id: int):
    """Write a new email for the wave's plan."""
    db = get_session()
    wave = wave_or_404(wave_id)
    form = NewTemplateForm()
    people = dashboard.preview_people(db, wave)
    form.set_choices(people)
    if form.is_submitted() and not form.preview.data:
        form.validate()  # every mistake is named at once: the form's, the text's, the name's
        problems = templates.template_problems(form.subject.data or "", form.body.data or "")
        taken = db.scalar(
            select(EmailTemplate.id).where(
                EmailTemplate.wave_id == wave.id, EmailTemplate.name == form.name.data
            )
        )
        if taken:
            form.name.errors.append("This wave already has an email with this name")
        _problems_to_fields(form, problems)
        if not form.errors:
            template = EmailTemplate(
                wave=wave,
                name=form.name.data,
                subject=form.subject.data.strip(),
                body=form.body.data,
                updated_at=now(),
            )
            db.add(template)
            db.flush()
            _audit(
                "reminders.plan",
                f"Email “{template.name}” of “{wave.label}” added",
                programme_id=wave.programme_id,
                kind="email template",
                number=template.id,
            )
            db.commit()
            flash(f"Email “{template.name}” saved. Choose it for a step of the plan.")
            return redirect(url_for(".template_list", wave_id=wave.id), code=303)
    status = 422 if form.errors else 200
    context = _template_page(wave, None, form, people)
    return render_template("admin/template_new.html", **context), status


@bp.route("/waves/<int:wave_id>/reminders/emails/<int:template_id>", methods=["GET", "POST"])
@requires("manage_waves")
def template_edit(wave_id: int, template_id: int):
    """Edit an email's subject and text, with a preview for a chosen person."""
    db = get_session()
    wave = wave_or_404(wave_id)
    template = _template(wave, template_id)
    form = TemplateForm(obj=template)
    people = dashboard.preview_people(db, wave)
    form.set_choices(people)
    if form.validate_on_submit():
        problems = templates.template_problems(form.subject.data, form.body.data)
        _problems_to_fields(form, problems)
        if not problems and not form.preview.data:
            template.subject = form.subject.data.strip()
            template.body = form.body.data
            template.updated_at = now()
            _audit(
                "reminders.plan",
                f"Email “{template.name}” of “{wave.label}” changed",
                programme_id=wave.programme_id,
                kind="email template",
                number=template.id,
            )
            db.commit()
            flash(f"Email “{template.name}” saved.")
            return redirect(url_for(".template_list", wave_id=wave.id), code=303)
    status = 422 if form.errors else 200
    context = _template_page(wave, template, form, people)
    return render_template("admin/template_edit.html", **context), status


@bp.post("/waves/<int:wave_id>/reminders/emails/preview", defaults={"template_id": None})
@bp.post("/waves/<int:wave_id>/reminders/emails/<int:template_id>/preview")
@requires("manage_waves")
def template_preview(wave_id: int, template_id: int | None):
    """Render the email as typed for the chosen person; nothing is saved."""
    db = get_session()
    wave = wave_or_404(wave_id)
    template = _template(wave, template_id) if template_id is not None else None
    form = TemplateForm() if template is not None else NewTemplateForm()
    people = dashboard.preview_people(db, wave)
    form.set_choices(people)
    form.validate()  # CSRFProtect has checked the token before this view runs
    _problems_to_fields(
        form, templates.template_problems(form.subject.data or "", form.body.data or "")
    )
    return render_page_or_fragment(
        "admin/template_edit.html" if template is not None else "admin/template_new.html",
        "admin/_template_preview.html",
        **_template_page(wave, template, form, people),
    )


@bp.get("/waves/<int:wave_id>/outbox")
@requires("manage_waves")
def outbox_list(wave_id: int):
    """List the wave's messages with their state, newest first; ?state= narrows the list."""
    db = get_session()
    wave = wave_or_404(wave_id)
    state = request.args.get("state", "")
    state = state if state in dashboard.MESSAGE_STATES else ""
    return render_template(
        "admin/outbox_list.html",
        wave=wave,
        state=state,
        states=dashboard.MESSAGE_STATES,
        totals=dashboard.state_counts(db, wave),
        found=dashboard.outbox(db, wave, state=state, page=_page_number(), per_page=PER_PAGE),
    )


@bp.get("/waves/<int:wave_id>/outbox/<int:message_id>")
@requires("manage_waves")
def message_detail(wave_id: int, message_id: int):
    """Show one message in full, as it was (or will be) sent, with its delivery record."""
    wave = wave_or_404(wave_id)
    message = get_session().get(Message, message_id)
    if message is None or message.wave_id != wave.id:
        abort(404)
    domain = sending.settings_from_config(current_app.config).domain
    return render_template(
        "admin/message_detail.html",
        wave=wave,
        message=message,
        message_id=message_id_for(message.id, domain),
        sender=current_app.config["MAIL_FROM"],
    )


# -- results, for the evaluator ----------------------------------------------------------


def _for_evaluator() -> bool:
    """Suppress small groups unless someone allowed to asked for the full data.

    An evaluator asking for full data still gets suppressed results: the
    reporting threshold is not theirs to lift.
    """
    return not (request.args.get("full") == "1" and access.can(g.user, "see_small_groups"))


def _wave_results(wave_id: int):
    wave = wave_or_404(wave_id)
    return wave, version_questionnaire(wave.questionnaire_version)


def _has_culture_items(questionnaire) -> bool:
    return any(item.type == "bipolar" for item in questionnaire.items())


@bp.get("/waves/<int:wave_id>/results")
@requires("see_results")
def results_scales(wave_id: int):
    """Show a wave's scale scores: n, mean, sd and median, overall and by a group field."""
    wave, questionnaire = _wave_results(wave_id)
    by = request.args.get("by", "team")
    by = by if by in scoring.GROUP_FIELDS else "team"
    for_evaluator = _for_evaluator()
    scores = scoring.scores_table(scoring.load_answers(get_session(), wave), questionnaire)
    summary = scoring.summarise_scales(
        scores,
        questionnaire,
        by=by,
        for_evaluator=for_evaluator,
        threshold=wave.programme.reporting_threshold,
    )
    return render_template(
        "admin/results_scales.html",
        wave=wave,
        by=by,
        breakdowns=dashboard.BREAKDOWNS,
        tables=results.scale_tables(summary.to_dict("records")),
        charts={
            record["scale"]: results.scale_chart(record)
            for record in summary.to_dict("records")
            if record["is_total"]
        },
        for_evaluator=for_evaluator,
        may_see_full_data=access.can(g.user, "see_small_groups"),
        threshold=wave.programme.reporting_threshold,
        formats=FORMATS,
        layouts=LAYOUTS,
        has_culture=_has_culture_items(questionnaire),
    )


@bp.get("/waves/<int:wave_id>/export")
@requires("see_results")
def results_export(wave_id: int):
    """Download a wave's answers as CSV, Excel or SPSS, suppressed unless allowed otherwise."""
    wave = wave_or_404(wave_id)
    file_format = request.args.get("format", "csv")
    layout = request.args.get("layout", "wide")
    if file_format not in FORMATS or layout not in LAYOUTS:
        abort(400)
    for_evaluator = _for_evaluator()
    try:
        check_choice(file_format, layout)
    except ValueError as problem:  # the codebook as SPSS, which has no rows to label
        flash(str(problem), "error")
        return redirect(url_for(".results_scales", wave_id=wave.id), code=303)
    if jobs.needs_background(get_session(), wave):
        job, new = jobs.find_or_create(
            _job_store(),
            now(),
            owner=g.user.id,
            wave_id=wave.id,
            file_format=file_format,
            layout=layout,
            for_evaluator=for_evaluator,
            threshold=wave.programme.reporting_threshold,
        )
        if new:
            make_session = current_app.extensions["surveyapp.sessionmaker"]
            jobs.start(_job_store(), job, make_session, current_app.config["CLOCK"])
        elif (job.wave_id, job.file_format, job.layout) != (wave.id, file_format, layout):
            flash(
                "Your other export is still being made. When it is ready, ask for this one again.",
                "info",
            )
        return redirect(url_for(".results_export_progress", wave_id=wave.id, job=job.id), code=303)
    try:
        exported = export_wave(
            get_session(),
            wave,
            file_format=file_format,
            layout=layout,
            for_evaluator=for_evaluator,
            threshold=wave.programme.reporting_threshold,
        )
    except ExportTooLarge as problem:
        flash(str(problem), "error")
        return redirect(url_for(".results_scales", wave_id=wave.id), code=303)
    _audit_export(wave, file_format, layout, for_evaluator)
    get_session().commit()
    return Response(
        exported.content,
        content_type=exported.mimetype,  # already carries its charset
        headers={"Content-Disposition": f'attachment; filename="{exported.filename}"'},
    )


@bp.get("/waves/<int:wave_id>/results/culture")
@requires("see_results")
def results_culture(wave_id: int):
    """Show a team's culture profile against the whole organisation, as a chart and a table."""
    wave, questionnaire = _wave_results(wave_id)
    if not _has_culture_items(questionnaire):
        abort(404)
    for_evaluator = _for_evaluator()
    profile = scoring.culture_profile(
        scoring.load_answers(get_session(), wave),
        questionnaire,
        by="team",
        for_evaluator=for_evaluator,
        threshold=wave.programme.reporting_threshold,
    )
    team = request.args.get("team", "") or scoring.ALL_RESPONDENTS
    rows = profile.to_dict("records")
    teams = sorted({row["group"] for row in rows if not row["is_total"]})
    if team != scoring.ALL_RESPONDENTS and team not in teams:
        abort(404)
    chosen = [row for row in rows if row["group"] == team]
    everyone = [row for row in rows if row["is_total"]]
    hidden_note = next((row["note"] for row in chosen if row["hidden"]), "")
    chart = None
    leaning = {"positive": [], "negative": []}
    if not hidden_note and any(row["n"] for row in chosen):
        chart = results.culture_chart(chosen, team, everyone)
        leaning = {
            side: table.to_dict("records")
            for side, table in scoring.leaning_items(profile, team).items()
        }
    download = request.args.get("download")
    if download is not None:
        if download not in CHART_FORMATS:
            abort(400)
        if chart is None:
            abort(404)
        svg = render_template("admin/_culture_chart.html", chart=chart, standalone=True)
        return _chart_file(svg, f"culture_wave{wave.id}", download)
    return render_template(
        "admin/results_culture.html",
        wave=wave,
        team=team,
        teams=teams,
        all_respondents=scoring.ALL_RESPONDENTS,
        hidden_note=hidden_note,
        chart=chart,
        leaning=leaning,
        for_evaluator=for_evaluator,
        may_see_full_data=access.can(g.user, "see_small_groups"),
        number=results.number,
    )


# -- results: change over time and item distributions -------------------------------------

#: Breakdowns the change page offers: groups large enough to be worth pairing.
CHANGE_BREAKDOWNS = {"role": "Role", "region": "Region"}
#: Item types whose answers the items page draws as a distribution.
DISTRIBUTION_TYPES = ("likert", "bipolar", "single_choice", "matrix")


def _programme_wave(programme: Programme, name: str, default: Wave | None) -> Wave | None:
    """The wave named by ``?<name>=``, which must belong to the programme; else ``default``."""
    if not request.args.get(name):
        return default
    wave_id = id_arg(name)
    if wave_id is None:
        abort(404)
    wave = get_session().get(Wave, wave_id)
    if wave is None or wave.programme_id != programme.id:
        abort(404)
    return wave


@bp.get("/programmes/<int:programme_id>/change")
@requires("see_results")
def results_change(programme_id: int):
    """Show the change in each scale for the people who answered two waves."""
    programme = programme_or_404(programme_id)
    identified = sorted(
        (wave for wave in programme.waves if not wave.is_anonymous),
        key=lambda wave: (wave.opens_at, wave.id),
    )
    second = _programme_wave(programme, "second", identified[1] if len(identified) > 1 else None)
    # The earliest other wave, so that a link naming only the second wave pairs it with one.
    others = [wave for wave in identified if second is None or wave.id != second.id]
    first = _programme_wave(programme, "first", others[0] if others else None)
    by = request.args.get("by") or None
    by = by if by in CHANGE_BREAKDOWNS else None
    for_evaluator = _for_evaluator()
    tables, problem = [], ""
    if first is None or second is None:
        problem = "Change over time needs two waves whose answers keep the person's ID number."
    else:
        try:
            change = scoring.paired_change(
                get_session(),
                first,
                second,
                by=by,
                for_evaluator=for_evaluator,
                threshold=programme.reporting_threshold,
            )
        except scoring.CannotPair as cannot:
            problem = str(cannot)
        else:
            tables = results.change_tables(change.to_dict("records"))
    return render_template(
        "admin/results_change.html",
        programme=programme,
        waves=identified,
        first=first,
        second=second,
        by=by,
        breakdowns=CHANGE_BREAKDOWNS,
        tables=tables,
        problem=problem,
        for_evaluator=for_evaluator,
        may_see_full_data=access.can(g.user, "see_small_groups"),
        threshold=programme.reporting_threshold,
    )


@bp.get("/waves/<int:wave_id>/results/items")
@requires("see_results")
def results_items(wave_id: int):
    """Show the distribution of answers to each closed item, one section per questionnaire page."""
    wave, questionnaire = _wave_results(wave_id)
    for_evaluator = _for_evaluator()
    answers = scoring.load_answers(get_session(), wave)
    sections = []
    for page in questionnaire.pages:
        charts = [
            _item_chart(answers, questionnaire, wave, answer_id, text, for_evaluator)
            for answer_id, text in _drawn_items(page.items).items()
        ]
        if charts:
            sections.append({"id": page.id, "title": page.title, "charts": charts})
    return render_template(
        "admin/results_items.html",
        wave=wave,
        sections=sections,
        for_evaluator=for_evaluator,
        may_see_full_data=access.can(g.user, "see_small_groups"),
        threshold=wave.programme.reporting_threshold,
    )


def _drawn_items(items) -> dict[str, str]:
    """The answer ids the items page draws, with their question text, in order."""
    drawn = {}
    for item in items:
        if item.type not in DISTRIBUTION_TYPES:
            continue
        question = item.text or f"{item.left} / {item.right}"
        for answer_id in item.answer_ids():
            if answer_id == item.other_id:
                continue
            if item.type == "matrix":
                row = next(row for row in item.rows if row.id == answer_id)
                drawn[answer_id] = f"{item.text}: {row.text}"
            else:
                drawn[answer_id] = question
    return drawn


def _item_chart(answers, questionnaire, wave: Wave, answer_id: str, text: str, for_evaluator):
    distribution = scoring.item_distribution(
        answers,
        questionnaire,
        answer_id,
        for_evaluator=for_evaluator,
        threshold=wave.programme.reporting_threshold,
    )
    records = [row for row in distribution.to_dict("records") if row["is_total"]]
    return results.item_chart(answer_id, text, records)


# -- results: charts as files, and exports made in the background ------------------------

#: The files a chart downloads as.
CHART_FORMATS = {"svg": "image/svg+xml", "png": "image/png"}


def _chart_file(svg: str, name: str, file_format: str) -> Response:
    """The chart as a download: the page's own SVG, or the same drawing as a PNG."""
    content = svg if file_format == "svg" else results.png_of(svg)
    return Response(
        content,
        mimetype=CHART_FORMATS[file_format],
        headers={"Content-Disposition": f'attachment; filename="{name}.{file_format}"'},
    )


@bp.get("/waves/<int:wave_id>/results/chart")
@requires("see_results")
def results_chart(wave_id: int):
    """Download one chart of the results pages (``?scale=`` or ``?item=``) as SVG or PNG.

    The chart is made as the page makes it, suppressed the same way: a group or
    item too small to show has no chart to download.
    """
    wave, questionnaire = _wave_results(wave_id)
    file_format = request.args.get("format", "svg")
    scale_id, answer_id = request.args.get("scale"), request.args.get("item")
    if file_format not in CHART_FORMATS or bool(scale_id) == bool(answer_id):
        abort(400)
    for_evaluator = _for_evaluator()
    answers = scoring.load_answers(get_session(), wave)
    if scale_id:
        if scale_id not in {scale.id for scale in questionnaire.scales}:
            abort(404)
        summary = scoring.summarise_scales(
            scoring.scores_table(answers, questionnaire),
            questionnaire,
            for_evaluator=for_evaluator,
            threshold=wave.programme.reporting_threshold,
        )
        record = next(
            row
            for row in summary.to_dict("records")
            if row["scale"] == scale_id and row["is_total"]
        )
        chart = results.scale_chart(record)
        name = f"wave{wave.id}_scale_{scale_id}"
    else:
        drawn = _drawn_items(questionnaire.items())
        if answer_id not in drawn:
            abort(404)
        chart = _item_chart(
            answers, questionnaire, wave, answer_id, drawn[answer_id], for_evaluator
        )
        name = f"wave{wave.id}_item_{answer_id}"
    if chart.hidden or not chart.n:
        abort(404)
    svg = render_template("admin/_bar_chart.html", chart=chart, standalone=True)
    return _chart_file(svg, name, file_format)


def _audit_export(wave: Wave, file_format: str, layout: str, for_evaluator: bool) -> None:
    _audit(
        "export.download",
        f"“{wave.label}” exported as {file_format}, {layout}, "
        + ("small groups hidden" if for_evaluator else "full data"),
        programme_id=wave.programme_id,
        kind="wave",
        number=wave.id,
    )


def _job_store() -> jobs.JobStore:
    return jobs.store_for(current_app.config, current_app.instance_path)


def _own_job(wave: Wave):
    """The job named by ``?job=``: the signed-in person's own export of this wave, or None.

    Anyone else's job, an old one, or one already downloaded is None alike. A job
    of full data needs the right to see small groups still.
    """
    job_id = request.args.get("job")
    if not job_id:
        abort(400)
    store = _job_store()
    store.remove_expired(now())
    job = store.get(job_id)
    if job is None or job.owner != g.user.id or job.wave_id != wave.id:
        return None
    if not job.for_evaluator and not access.can(g.user, "see_small_groups"):
        return None
    return job


def _export_gone(wave: Wave):
    return render_template("admin/results_export_gone.html", wave=wave), 410


@bp.get("/waves/<int:wave_id>/export/progress")
@requires("see_results")
def results_export_progress(wave_id: int):
    """Show how far a background export has got; htmx asks again every second until done."""
    wave = wave_or_404(wave_id)
    job = _own_job(wave)
    if job is None:
        return _export_gone(wave)
    return render_page_or_fragment(
        "admin/results_export_progress.html",
        "admin/_export_progress.html",
        wave=wave,
        job=job,
        stages=len(STAGES),
        ready=jobs.READY,
        failed=jobs.FAILED,
        max_age_minutes=int(jobs.MAX_AGE.total_seconds() // 60),
    )


@bp.get("/waves/<int:wave_id>/export/file")
@requires("see_results")
def results_export_file(wave_id: int):
    """Hand over a background export's file, once; it is then removed."""
    wave = wave_or_404(wave_id)
    job = _own_job(wave)
    if job is None:
        return _export_gone(wave)
    if job.state != jobs.READY:
        return redirect(url_for(".results_export_progress", wave_id=wave.id, job=job.id), 303)
    content = _job_store().take(job)
    if content is None:  # downloaded a moment ago, in another tab
        return _export_gone(wave)
    _audit_export(wave, job.file_format, job.layout, job.for_evaluator)
    get_session().commit()
    return Response(
        content,
        content_type=job.mimetype,
        headers={"Content-Disposition": f'attachment; filename="{job.filename}"'},
    )


@bp.record_once
def _register_the_rest(state) -> None:
    from surveyapp.admin import privacy, staff
    from surveyapp.web import permissions

    permissions.init_app(state.app)
    state.app.register_blueprint(staff.bp)
    state.app.register_blueprint(privacy.bp)
