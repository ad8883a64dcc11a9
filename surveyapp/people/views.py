"""Programmes and their people: create and change a programme, load its cohort, edit a person."""

import base64

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import func, select

from surveyapp.audit import operations as audit
from surveyapp.db import get_session
from surveyapp.models import (
    Participant,
    Programme,
    Wave,
)
from surveyapp.people import cohort_file, links, roster
from surveyapp.people.forms import (
    CohortConfirmForm,
    CohortUploadForm,
    ParticipantForm,
    ProgrammeForm,
)
from surveyapp.reminders import plan
from surveyapp.staff import access
from surveyapp.waves import dashboard, small_counts
from surveyapp.waves import operations as waves
from surveyapp.web.context import (
    audit_action,
    csv_download,
    now,
)
from surveyapp.web.forms import ActionForm
from surveyapp.web.htmx import render_page_or_fragment
from surveyapp.web.permissions import (
    login_required,
    participant_or_404,
    programme_or_404,
    requires,
    wave_or_404,
)

bp = Blueprint("people", __name__, url_prefix="/admin", template_folder="templates")


@bp.get("/")
@login_required
def index():
    """Send the study team to the programmes."""
    return redirect(url_for(".programme_list"))


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
    return render_template("people/programme_list.html", programmes=programmes, sizes=sizes)


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
        audit_action(
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
    return render_template("people/programme_new.html", form=form), status


@bp.route("/programmes/<int:programme_id>/edit", methods=["GET", "POST"])
@requires("manage_programmes")
def programme_edit(programme_id: int):
    """Change a programme's name, who runs it, its description or its reporting threshold."""
    programme = programme_or_404(programme_id)
    form = ProgrammeForm(obj=programme)
    if form.validate_on_submit() and _fill_programme(programme, form):
        audit_action(
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
    return render_template("people/programme_edit.html", programme=programme, form=form), status


@bp.get("/programmes/<int:programme_id>")
@requires("see_programmes")
def programme_detail(programme_id: int):
    """Show a programme: its cohort, its waves side by side and retention from the first."""
    programme = programme_or_404(programme_id)
    db = get_session()
    size = db.scalar(
        select(func.count(Participant.id)).where(Participant.programme_id == programme.id)
    )
    overview = dashboard.programme_overview(db, programme)
    return render_template(
        "people/programme_detail.html",
        programme=programme,
        overview=overview,
        lines=None
        if access.can(g.user, "manage_waves")
        else small_counts.overview_lines(overview, programme.reporting_threshold),
        size=size,
    )


@bp.route("/programmes/<int:programme_id>/cohort", methods=["GET", "POST"])
@requires("manage_cohort")
def cohort_upload(programme_id: int):
    """Check a cohort file and show every bad row before anything is saved."""
    programme = programme_or_404(programme_id)
    form = CohortUploadForm()
    parsed = content = None
    outcomes = []
    if form.validate_on_submit():
        data = form.file.data.read()
        parsed = cohort_file.parse_cohort_csv(data)
        content = base64.b64encode(data).decode("ascii")
        outcomes = roster.plan_import(get_session(), programme, parsed, erasure_key=_erasure_key())
    status = 422 if form.errors or (parsed and not parsed.is_importable) else 200
    return render_template(
        "people/cohort_upload.html",
        programme=programme,
        form=form,
        parsed=parsed,
        outcome_of={outcome.line: outcome for outcome in outcomes},
        updates=[outcome for outcome in outcomes if outcome.outcome == "update"],
        summary=roster.summarise(outcomes) if outcomes else None,
        confirm=CohortConfirmForm(content=content),
    ), status


def _erasure_key() -> bytes:
    return current_app.config["SECRET_KEY"].encode()


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
    parsed = cohort_file.parse_cohort_csv(data)
    if not parsed.is_importable:
        flash("Nothing was imported: the file has problems. Upload it again to see them.", "error")
        return redirect(url_for(".cohort_upload", programme_id=programme.id), code=303)
    db = get_session()
    result = roster.import_cohort(db, programme, parsed, now=now(), erasure_key=_erasure_key())
    invited = sum(waves.invite_audience(db, wave) for wave in programme.waves if _is_running(wave))
    audit_action(
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
        "people/participant_list.html",
        "people/_participant_rows.html",
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
        audit_action(
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
        "people/participant_edit.html",
        participant=participant,
        programme=participant.programme,
        form=form,
        withdraw=ActionForm(),
        messages=plan.messages_to(get_session(), participant),
    ), status


@bp.post("/programmes/<int:programme_id>/participants/<int:participant_id>/withdraw")
@requires("manage_cohort")
def participant_withdraw(programme_id: int, participant_id: int):
    """Withdraw a person: their answers stay, their links and reminders stop."""
    participant = participant_or_404(programme_id, participant_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    roster.withdraw(get_session(), participant, now=now())
    audit_action(
        "participant.withdraw",
        f"{audit.person(participant).capitalize()} withdrawn",
        programme_id=programme_id,
        kind="participant",
        number=participant.id,
    )
    get_session().commit()
    flash(f"{participant.name} is withdrawn. Their links no longer work; their answers are kept.")
    return redirect(url_for(".participant_list", programme_id=programme_id), code=303)


def _wave_of(programme_id: int, wave_id: int) -> Wave:
    programme = programme_or_404(programme_id)
    wave = wave_or_404(wave_id)
    if wave.programme_id != programme.id:
        abort(404)
    return wave


def _link_list(wave: Wave) -> links.LinkList:
    return links.personal_links(get_session(), wave, base_url=current_app.config["BASE_URL"])


@bp.get("/programmes/<int:programme_id>/waves/<int:wave_id>/links")
@requires("download_links")
def personal_links(programme_id: int, wave_id: int):
    """Explain the download of a wave's personal links for the programme's own email."""
    wave = _wave_of(programme_id, wave_id)
    return render_template(
        "people/personal_links.html",
        wave=wave,
        found=_link_list(wave),
        closed=wave.closes_at <= now(),
        not_open_yet=now() < wave.opens_at,
    )


@bp.get("/programmes/<int:programme_id>/waves/<int:wave_id>/links.csv")
@requires("download_links")
def personal_links_csv(programme_id: int, wave_id: int):
    """Download each person's ID number, name, email and personal link; written to the audit log."""
    wave = _wave_of(programme_id, wave_id)
    found = _link_list(wave)
    audit_action(
        "export.download",
        f"Personal links of “{wave.label}” downloaded for the programme's own email: "
        f"{len(found.rows)} people (names, emails and links)",
        programme_id=wave.programme_id,
        kind="wave",
        number=wave.id,
    )
    get_session().commit()
    return csv_download(links.links_csv(found), f"personal-links-wave-{wave.id}.csv")
