"""Waves: create one for an audience, its personal links, closing early, and its dashboard."""

import secrets
from datetime import time, timedelta

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
from sqlalchemy.orm import joinedload

from surveyapp.audit import operations as audit
from surveyapp.db import get_session
from surveyapp.models import (
    Invitation,
    Participant,
    Programme,
    QuestionnaireVersion,
)
from surveyapp.people import roster
from surveyapp.questionnaires import catalogue
from surveyapp.reminders import calendar
from surveyapp.respond import release
from surveyapp.staff import access
from surveyapp.timezones import to_local, to_utc
from surveyapp.waves import changes, chart, dashboard, small_counts
from surveyapp.waves import operations as waves
from surveyapp.waves.forms import ChangeWaveForm, SampleForm, WaveForm
from surveyapp.web.context import PER_PAGE, audit_action, csv_download, now, page_number, study_zone
from surveyapp.web.forms import ActionForm
from surveyapp.web.htmx import render_page_or_fragment, wants_fragment
from surveyapp.web.permissions import (
    programme_or_404,
    requires,
    wave_or_404,
)

bp = Blueprint("waves", __name__, url_prefix="/admin", template_folder="templates")


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
        closes = opens.date() + timedelta(days=21)
        while not calendar.is_working_day(closes):  # not on Christmas Day or a Sunday
            closes += timedelta(days=1)
        form.closes_on.data, form.closes_time.data = closes, time(17, 0)
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
            audit_action(
                "wave.create",
                f"Wave “{wave.label}” created ({wave.privacy}, {len(wave.invitations)} invited)",
                programme_id=programme.id,
                kind="wave",
                number=wave.id,
            )
            db.commit()
            flash(f"Wave “{wave.label}” created with {len(wave.invitations)} invitation(s).")
            for note in form.time_notes():
                flash(note)
            return redirect(url_for(".wave_detail", wave_id=wave.id), code=303)
    status = 422 if form.errors else 200
    return render_template(
        "waves/wave_new.html",
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
    return render_template("waves/_audience_count.html", invited=_audience_size(programme, form))


@bp.get("/waves/<int:wave_id>")
@requires("manage_waves")
def wave_detail(wave_id: int):
    """Show a wave: its counts and every invitation with its personal link."""
    db = get_session()
    wave = wave_or_404(wave_id)
    per_page = PER_PAGE
    total = db.scalar(select(func.count(Invitation.id)).where(Invitation.wave_id == wave.id))
    page = min(page_number(), max(1, -(-total // per_page)))
    invitations = db.scalars(
        select(Invitation)
        .join(Participant)
        .where(Invitation.wave_id == wave.id)
        .options(joinedload(Invitation.participant))
        .order_by(Participant.id_number)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return render_template(
        "waves/wave_detail.html",
        wave=wave,
        is_open=wave.opens_at <= now() < wave.closes_at,
        counts=waves.wave_counts(db, wave),
        invitations=invitations,
        page=page,
        pages=max(1, -(-total // per_page)),
        form=ActionForm(),
    )


@bp.route("/waves/<int:wave_id>/edit", methods=["GET", "POST"])
@requires("manage_waves")
def wave_edit(wave_id: int):
    """Change a wave: its name, dates (a closed wave reopens), target and audience."""
    db = get_session()
    wave = wave_or_404(wave_id)
    zone = study_zone()
    form = ChangeWaveForm()
    has_opened = wave.opens_at <= now()
    if has_opened:  # its opening stays: the boxes are not shown
        del form.opens_on, form.opens_time
    offered = roster.filter_values(db, wave.programme)
    for name, values in (wave.audience or {}).items():  # keep values no one has any more
        offered[name] = sorted(set(offered.get(name, [])) | set(values))
    form.set_choices(offered)
    if request.method == "GET":
        opens, closes = to_local(wave.opens_at, zone), to_local(wave.closes_at, zone)
        form.label.data, form.target_rate.data = wave.label, wave.target_rate
        if not has_opened:
            form.opens_on.data, form.opens_time.data = opens.date(), opens.time()
        form.closes_on.data, form.closes_time.data = closes.date(), closes.time()
        for name in waves.AUDIENCE_FIELDS:
            form[name].data = (wave.audience or {}).get(name, [])
    counting = request.method == "POST" and "count" in request.form
    if not counting and form.validate_on_submit():
        try:
            change = changes.change_wave(
                db,
                wave,
                label=form.label.data,
                opens_at=wave.opens_at
                if has_opened
                else to_utc(form.opens_on.data, form.opens_time.data, zone),
                closes_at=to_utc(form.closes_on.data, form.closes_time.data, zone),
                target_rate=form.target_rate.data,
                audience=form.audience(),
                now=now(),
                zone=zone,
            )
        except waves.WaveProblem as problem:
            db.rollback()
            _field_of(form, problem.field).errors.append(str(problem))
        else:
            if change.changed:
                audit_action(
                    "wave.change",
                    f"Wave no. {wave.id} changed: {'; '.join(change.changes)}"
                    + (f"; {change.invited} invited" if change.invited else "")
                    + (f"; {change.removed} taken out" if change.removed else ""),
                    programme_id=wave.programme_id,
                    kind="wave",
                    number=wave.id,
                )
                db.commit()
            flash(change.sentence(wave.label))
            for note in form.time_notes() if change.changed else ():
                flash(note)
            return redirect(url_for(".wave_detail", wave_id=wave.id), code=303)
    status = 422 if form.errors else 200
    return render_template(
        "waves/wave_edit.html",
        wave=wave,
        form=form,
        is_closed=wave.closes_at <= now(),
        has_opened=has_opened,
        invited=waves.audience_size(db, wave.programme, form.audience()),
    ), status


def _field_of(form: ChangeWaveForm, name: str):
    """The field a problem is shown at; an audience problem at the first list shown."""
    if name in waves.AUDIENCE_FIELDS:
        shown = [form[f] for f in waves.AUDIENCE_FIELDS if form[f].choices]
        return shown[0] if shown else form.label
    return form[name] if name in form else form.closes_on


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
        audit_action(
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
        audit_action(
            "response.reopen",
            f"Response of {audit.person(invitation.participant)} to “{wave.label}” reopened",
            programme_id=wave.programme_id,
            kind="invitation",
            number=invitation.id,
        )
        db.commit()
        flash(f"The answers of {invitation.participant.name} are reopened on the same link.")
    return redirect(url_for(".wave_detail", wave_id=wave_id), code=303)


@bp.get("/waves/<int:wave_id>/dashboard")
@requires("see_dashboards")
def wave_dashboard(wave_id: int):
    """Show a wave's response: counts against the target, by group and over time.

    Counts per group are for those who chase responses; everyone else sees the
    rates of groups at or over the reporting threshold (``small_counts``).
    """
    db = get_session()
    wave = wave_or_404(wave_id)
    counts = dashboard.wave_counts(db, wave)
    threshold = wave.programme.reporting_threshold
    shows_counts = access.can(g.user, "manage_waves")
    panel = {
        "wave": wave,
        "counts": counts,
        "updated": now(),
        "threshold": threshold,
        "total_shown": small_counts.shows_total(
            counts.completed, threshold, shows_counts=shows_counts
        ),
    }
    if wants_fragment():  # the counts panel refreshing itself needs nothing more
        return render_page_or_fragment(
            "waves/wave_dashboard.html", "waves/_wave_counts.html", **panel
        )
    sort = dashboard.allowed_sort(request.args.get("sort"), shows_counts=shows_counts)
    descending = request.args.get("dir") == "desc"
    breakdowns = dashboard.breakdowns(
        db,
        wave,
        shows_counts=shows_counts,
        threshold=threshold,
        total_completed=counts.completed,
        sort=sort,
        descending=descending,
    )
    days = dashboard.completions_by_day(db, wave, now=now(), zone=study_zone())
    shown_days = small_counts.shown_days(days, threshold) if panel["total_shown"] else None
    drawn = shown_days and chart.completions_chart(
        shown_days, invited=counts.invited, target=counts.target, target_rate=wave.target_rate
    )
    held_note = ""
    if wave.is_anonymous:
        status = release.release_status(db, wave)
        held_note = release.release_sentence(status, closed=wave.closes_at <= now())
    return render_page_or_fragment(
        "waves/wave_dashboard.html",
        "waves/_wave_counts.html",
        **panel,
        shows_counts=shows_counts,
        breakdowns=breakdowns,
        headings=dashboard.BREAKDOWNS,
        sort=sort,
        direction="desc" if descending else "asc",
        has_days=bool(days),
        days=shown_days,
        chart=drawn,
        held_note=held_note,
    )


@bp.get("/waves/<int:wave_id>/non-respondents")
@requires("manage_cohort")
def non_respondent_list(wave_id: int):
    """List the people who have not completed, with how far they got, for follow-up."""
    db = get_session()
    wave = wave_or_404(wave_id)
    return render_template(
        "waves/non_respondent_list.html",
        wave=wave,
        found=dashboard.non_respondents(db, wave, page=page_number(), per_page=PER_PAGE),
    )


@bp.get("/waves/<int:wave_id>/non-respondents.csv")
@requires("manage_cohort")
def non_respondent_csv(wave_id: int):
    """Download the non-respondents with their contact details, for phone calls."""
    db = get_session()
    wave = wave_or_404(wave_id)
    text = dashboard.non_respondents_csv(dashboard.all_non_respondents(db, wave), zone=study_zone())
    audit_action(
        "export.download",
        f"Non-respondents of “{wave.label}” downloaded (names and emails)",
        programme_id=wave.programme_id,
        kind="wave",
        number=wave.id,
    )
    db.commit()
    return csv_download(text, f"non-respondents-wave-{wave.id}.csv")


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
            audit_action(
                "export.download",
                f"Sample of {len(sample.people)} non-respondents of “{wave.label}” downloaded "
                f"(seed {form.seed.data})",
                programme_id=wave.programme_id,
                kind="wave",
                number=wave.id,
            )
            db.commit()
            text = dashboard.non_respondents_csv(sample.people, zone=study_zone())
            return csv_download(text, f"sample-wave-{wave.id}-seed-{form.seed.data}.csv")
    return render_template(
        "waves/non_respondent_sample.html", wave=wave, form=form, sample=sample
    ), 422 if form.errors else 200
