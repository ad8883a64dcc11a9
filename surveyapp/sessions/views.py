"""A programme's sessions: plan them, load them from a file, keep their registers, and see
each person's sessions."""

import base64

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from surveyapp.audit import operations as audit
from surveyapp.db import get_session
from surveyapp.models import SESSION_KINDS, Participant, Programme, ProgrammeSession
from surveyapp.people import roster
from surveyapp.sessions import importing, operations
from surveyapp.sessions.forms import (
    OTHER_KIND,
    ConfirmForm,
    RegisterForm,
    SessionForm,
    UploadForm,
)
from surveyapp.timezones import missing_time, repeated_time, to_local, to_utc
from surveyapp.web.context import audit_action, now, page_number, study_zone
from surveyapp.web.forms import ActionForm
from surveyapp.web.htmx import wants_fragment
from surveyapp.web.permissions import participant_or_404, programme_or_404, requires

bp = Blueprint("sessions", __name__, url_prefix="/admin", template_folder="templates")

#: Sessions per page of the list.
PER_PAGE = 25


@bp.app_template_filter("uk_clock")
def uk_clock(moment) -> str:
    """A stored UTC time as the hour and minute in the study's zone: "14:30"."""
    return f"{to_local(moment, study_zone()):%H:%M}"


def session_or_404(programme_id: int, session_id: int) -> ProgrammeSession:
    programme = programme_or_404(programme_id)
    found = get_session().get(ProgrammeSession, session_id)
    if found is None or found.programme_id != programme.id:
        abort(404)
    return found


@bp.get("/programmes/<int:programme_id>/sessions")
@requires("see_programmes")
def session_list(programme_id: int):
    """List a programme's sessions in time order, a page at a time."""
    programme = programme_or_404(programme_id)
    found = operations.session_page(get_session(), programme, page=page_number(), per_page=PER_PAGE)
    return render_template(
        "sessions/session_list.html", programme=programme, found=found, now=now()
    )


def _session_form(programme: Programme, programme_session: ProgrammeSession | None):
    form = SessionForm()
    form.set_choices(roster.filter_values(get_session(), programme))
    if programme_session is not None and not form.is_submitted():
        _fill_form(form, programme_session)
    return form


def _fill_form(form: SessionForm, programme_session: ProgrammeSession) -> None:
    zone = study_zone()
    starts = to_local(programme_session.starts_at, zone)
    ends = to_local(programme_session.ends_at, zone)
    known = programme_session.kind in SESSION_KINDS
    form.kind.data = programme_session.kind if known else OTHER_KIND
    form.other_kind.data = "" if known else programme_session.kind
    form.group.data = programme_session.group
    form.title.data = programme_session.title
    form.day.data, form.month.data, form.year.data = (
        str(starts.day),
        str(starts.month),
        str(starts.year),
    )
    form.starts.data, form.ends.data = f"{starts:%H:%M}", f"{ends:%H:%M}"
    expected = programme_session.expected or {}
    form.expect_group.data = bool(expected.get("group"))
    form.role.data = list(expected.get("role") or [])
    form.team.data = list(expected.get("team") or [])
    named = expected.get("participant") or []
    people = get_session().scalars(select(Participant).where(Participant.id.in_(named)))
    form.id_numbers.data = ", ".join(sorted(person.id_number for person in people))
    form.notes.data = programme_session.notes


def _submitted(
    form: SessionForm, programme: Programme, programme_session: ProgrammeSession | None
) -> operations.SessionDetails | None:
    """The session sent, or None: every problem with the form is named at once."""
    if not form.is_submitted():
        return None
    form.validate()
    return _details(form, programme, programme_session)


def _details(
    form: SessionForm, programme: Programme, programme_session: ProgrammeSession | None
) -> operations.SessionDetails | None:
    """The session as the form gives it, or None with errors on the fields that are wrong."""
    db = get_session()
    day, times = form.the_day(), form.the_times()
    people, unknown = operations.participants_by_id_number(db, programme, form.id_number_list())
    if unknown:
        form.id_numbers.errors.append(
            f"No one in this programme has the ID number {', '.join(unknown)}"
        )
    group = " ".join((form.group.data or "").split())
    if form.expect_group.data and not group:
        form.group.errors.append("Enter the group, or untick “Only people in this group”")
    if day is None or times is None or form.errors:
        return None
    zone = study_zone()
    form.time_notes = []
    for field, clock in ((form.starts, times[0]), (form.ends, times[1])):
        problem = missing_time(day, clock, zone)
        if problem:
            field.errors.append(f"{field.label.text}: {problem}. Enter another time")
        elif note := repeated_time(day, clock, zone):
            form.time_notes.append(f"{field.label.text}: {note}.")
    if form.errors:
        return None
    kind = form.kind.data
    details = operations.SessionDetails(
        kind=operations.kind_of(form.other_kind.data) if kind == OTHER_KIND else kind,
        group=group,
        title=" ".join((form.title.data or "").split()),
        starts_at=to_utc(day, times[0], zone),
        ends_at=to_utc(day, times[1], zone),
        expected=form.expected() | ({"participant": [p.id for p in people]} if people else {}),
        notes=(form.notes.data or "").strip(),
    )
    moved = programme_session is None or programme_session.starts_at != details.starts_at
    if moved and details.starts_at < now() and not form.confirm_past.data:
        form.asks_to_confirm_past = True
        form.day.errors.append(
            f"{day.day} {day:%B %Y} at {times[0]:%H:%M} has passed. Tick the box if the "
            "session has already taken place, or change the date"
        )
    clash = operations.clashes(
        db,
        programme,
        details,
        leaving_out=programme_session.id if programme_session is not None else None,
    )
    if clash:
        form.starts.errors.append(
            f"This overlaps {operations.describe(clash[0], zone)}, which has the same group. "
            "Change the date or time"
        )
    return None if form.errors else details


@bp.route("/programmes/<int:programme_id>/sessions/new", methods=["GET", "POST"])
@requires("manage_sessions")
def session_new(programme_id: int):
    """Plan a session of the programme."""
    programme = programme_or_404(programme_id)
    form = _session_form(programme, None)
    details = _submitted(form, programme, None)
    if details is not None:
        created = operations.save_session(get_session(), programme, details, now=now())
        text = operations.describe(created, study_zone())
        audit_action(
            "session.plan",
            f"Session planned: {text}",
            programme_id=programme.id,
            kind="session",
            number=created.id,
        )
        get_session().commit()
        flash(f"Session added: {text}.")
        for note in form.time_notes:
            flash(note)
        return redirect(url_for(".session_list", programme_id=programme.id), code=303)
    status = 422 if form.errors else 200
    return render_template(
        "sessions/session_edit.html", programme=programme, form=form, programme_session=None
    ), status


@bp.route("/programmes/<int:programme_id>/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@requires("manage_sessions")
def session_edit(programme_id: int, session_id: int):
    """Change a session's kind, group, time or who is expected."""
    programme_session = session_or_404(programme_id, session_id)
    programme = programme_session.programme
    form = _session_form(programme, programme_session)
    details = _submitted(form, programme, programme_session)
    if details is not None:
        operations.save_session(
            get_session(), programme, details, now=now(), programme_session=programme_session
        )
        text = operations.describe(programme_session, study_zone())
        audit_action(
            "session.plan",
            f"Session changed: {text}",
            programme_id=programme.id,
            kind="session",
            number=programme_session.id,
        )
        get_session().commit()
        flash(f"Session saved: {text}.")
        for note in form.time_notes:
            flash(note)
        return redirect(url_for(".session_list", programme_id=programme.id), code=303)
    status = 422 if form.errors else 200
    return render_template(
        "sessions/session_edit.html",
        programme=programme,
        form=form,
        programme_session=programme_session,
    ), status


@bp.route(
    "/programmes/<int:programme_id>/sessions/<int:session_id>/delete", methods=["GET", "POST"]
)
@requires("manage_sessions")
def session_delete(programme_id: int, session_id: int):
    """Ask, then delete a session and its register."""
    programme_session = session_or_404(programme_id, session_id)
    db = get_session()
    form = ActionForm()
    reason = operations.why_not_deleted(db, programme_session)
    text = operations.describe(programme_session, study_zone())
    if form.validate_on_submit() and not reason:
        operations.delete_session(db, programme_session)
        audit_action(
            "session.plan",
            f"Session deleted: {text}",
            programme_id=programme_id,
            kind="session",
            number=session_id,
        )
        db.commit()
        flash(f"Session deleted: {text}.")
        return redirect(url_for(".session_list", programme_id=programme_id), code=303)
    return render_template(
        "sessions/session_delete.html",
        programme=programme_session.programme,
        programme_session=programme_session,
        text=text,
        reason=reason,
        recorded=len(programme_session.attendance),
        form=form,
    ), (409 if reason and form.is_submitted() else 200)


# -- the register --------------------------------------------------------------------------


def _register_page(programme_session: ProgrammeSession, form: RegisterForm, status: int = 200):
    lines = operations.register(get_session(), programme_session)
    if not form.is_submitted():
        form.came.data = [line.participant.id for line in lines if line.attended]
    return render_template(
        "sessions/register.html",
        programme=programme_session.programme,
        programme_session=programme_session,
        text=operations.describe(programme_session, study_zone()),
        lines=lines,
        form=form,
        started=programme_session.starts_at <= now(),
    ), status


@bp.route(
    "/programmes/<int:programme_id>/sessions/<int:session_id>/register", methods=["GET", "POST"]
)
@requires("keep_registers")
def register(programme_id: int, session_id: int):
    """The register of a session: tick who came and save (the plain form)."""
    programme_session = session_or_404(programme_id, session_id)
    form = RegisterForm()
    if not form.validate_on_submit():
        return _register_page(programme_session, form, 422 if form.errors else 200)
    db = get_session()
    programme = programme_session.programme
    listed = {
        line.participant.id: line.participant for line in operations.register(db, programme_session)
    }
    ticked = set(form.came.data or [])
    strangers = ticked - set(listed)
    extra = None
    if (form.someone_else.data or "").strip():
        found, unknown = operations.participants_by_id_number(
            db, programme, [form.someone_else.data]
        )
        if unknown:
            form.someone_else.errors.append(
                f"No one in this programme has the ID number {unknown[0]}"
            )
        else:
            extra = found[0]
    if strangers:
        form.came.errors.append(
            "Someone ticked is not on this register. Load the page again and tick again"
        )
    if form.errors:
        return _register_page(programme_session, form, 422)
    try:
        for participant_id, person in listed.items():
            operations.mark(
                db,
                programme_session,
                person,
                participant_id in ticked,
                now=now(),
                by=g.user.id,
            )
        if extra is not None:
            operations.mark(db, programme_session, extra, True, now=now(), by=g.user.id)
    except operations.RegisterProblem as problem:
        db.rollback()
        form.came.errors.append(str(problem))
        return _register_page(programme_session, form, 422)
    came = len(ticked) + (extra is not None and extra.id not in ticked)
    audit_action(
        "register.change",
        f"Register of session {programme_session.id} saved: {came} came",
        programme_id=programme.id,
        kind="session",
        number=programme_session.id,
    )
    db.commit()
    flash(f"Register saved: {came} came.")
    return redirect(
        url_for(".register", programme_id=programme.id, session_id=programme_session.id),
        code=303,
    )


@bp.post("/programmes/<int:programme_id>/sessions/<int:session_id>/register/<int:participant_id>")
@requires("keep_registers")
def register_row(programme_id: int, session_id: int, participant_id: int):
    """Save one person's tick as soon as it changes (htmx), and show their row again."""
    programme_session = session_or_404(programme_id, session_id)
    db = get_session()
    person = db.get(Participant, participant_id)
    form = ActionForm()
    if not form.validate_on_submit() or person is None:
        abort(400)
    # The row's box is named "came" with the person's id, like the plain form's boxes.
    came = str(person.id) in request.form.getlist("came")
    try:
        operations.mark(db, programme_session, person, came, now=now(), by=g.user.id)
    except operations.RegisterProblem as problem:
        if not wants_fragment():
            abort(409, str(problem))
        line = operations.RegisterLine(person, False, None)
        return render_template(
            "sessions/_register_status.html", line=line, problem=str(problem)
        ), 422
    audit_action(
        "register.change",
        f"Register of session {programme_session.id}: {audit.person(person)} marked as "
        + ("came" if came else "did not come"),
        programme_id=programme_id,
        kind="session",
        number=programme_session.id,
    )
    db.commit()
    line = next(
        line
        for line in operations.register(db, programme_session)
        if line.participant.id == person.id
    )
    if not wants_fragment():
        return redirect(
            url_for(".register", programme_id=programme_id, session_id=session_id), code=303
        )
    return render_template("sessions/_register_status.html", line=line, saved=True)


# -- files of sessions and attendance ------------------------------------------------------


def _checked_upload(check, programme: Programme):
    """Check an uploaded file; return the form, what it holds, and the file to load."""
    form = UploadForm()
    checked = content = None
    if form.validate_on_submit():
        data = form.file.data.read()
        checked = check(get_session(), programme, data, now=now(), zone=study_zone())
        content = base64.b64encode(data).decode("ascii")
    return form, checked, ConfirmForm(content=content)


def _confirmed_file(check, programme: Programme):
    """The file sent back from the report, checked again; None when it cannot be loaded."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        data = base64.b64decode(form.content.data, validate=True)
    except ValueError:
        abort(400)
    checked = check(get_session(), programme, data, now=now(), zone=study_zone())
    if not checked.is_importable:
        flash("Nothing was loaded: the file has problems. Upload it again to see them.", "error")
        return None
    return checked


@bp.route("/programmes/<int:programme_id>/sessions/import", methods=["GET", "POST"])
@requires("manage_sessions")
def session_import(programme_id: int):
    """Check a file of sessions and show every row with a problem before anything is saved."""
    programme = programme_or_404(programme_id)
    form, checked, confirm = _checked_upload(importing.check_sessions_file, programme)
    status = 422 if form.errors or (checked and not checked.is_importable) else 200
    return render_template(
        "sessions/session_import.html",
        programme=programme,
        form=form,
        checked=checked,
        confirm=confirm,
        describe=lambda details: operations.describe(details, study_zone()),
        kinds=[f"“{name}”" for name in SESSION_KINDS.values()],
    ), status


@bp.post("/programmes/<int:programme_id>/sessions/import/load")
@requires("manage_sessions")
def session_import_load(programme_id: int):
    """Save the good rows of the checked file of sessions."""
    programme = programme_or_404(programme_id)
    checked = _confirmed_file(importing.check_sessions_file, programme)
    if checked is None:
        return redirect(url_for(".session_import", programme_id=programme.id), code=303)
    added = importing.load_sessions(get_session(), programme, checked, now=now())
    audit_action(
        "session.import",
        f"File of sessions loaded: {added} added, {len(checked.problems)} rows left out",
        programme_id=programme.id,
        kind="programme",
        number=programme.id,
    )
    get_session().commit()
    message = f"Sessions loaded: {added} added"
    if checked.problems:
        message += f"; {len(checked.problems)} row(s) with problems were left out"
    flash(message + ".")
    return redirect(url_for(".session_list", programme_id=programme.id), code=303)


@bp.route("/programmes/<int:programme_id>/attendance/import", methods=["GET", "POST"])
@requires("keep_registers")
def attendance_import(programme_id: int):
    """Check a file of attendance and show every row with a problem before anything is saved."""
    programme = programme_or_404(programme_id)
    form, checked, confirm = _checked_upload(importing.check_attendance_file, programme)
    status = 422 if form.errors or (checked and not checked.is_importable) else 200
    return render_template(
        "sessions/attendance_import.html",
        programme=programme,
        form=form,
        checked=checked,
        confirm=confirm,
    ), status


@bp.post("/programmes/<int:programme_id>/attendance/import/load")
@requires("keep_registers")
def attendance_import_load(programme_id: int):
    """Record the good rows of the checked attendance file."""
    programme = programme_or_404(programme_id)
    checked = _confirmed_file(importing.check_attendance_file, programme)
    if checked is None:
        return redirect(url_for(".attendance_import", programme_id=programme.id), code=303)
    summary = importing.load_attendance(get_session(), checked, now=now())
    audit_action(
        "attendance.import",
        f"Attendance file loaded: {summary.came} came, {summary.did_not_come} did not, "
        f"{len(checked.problems)} rows left out",
        programme_id=programme.id,
        kind="programme",
        number=programme.id,
    )
    get_session().commit()
    message = f"Attendance loaded: {summary.came} came, {summary.did_not_come} did not come"
    if checked.problems:
        message += f"; {len(checked.problems)} row(s) with problems were left out"
    flash(message + ".")
    return redirect(url_for(".attendance_list", programme_id=programme.id), code=303)


# -- each person's sessions ----------------------------------------------------------------


@bp.get("/programmes/<int:programme_id>/attendance")
@requires("keep_registers")
def attendance_list(programme_id: int):
    """Each person's sessions attended out of offered, and mentoring sessions had."""
    programme = programme_or_404(programme_id)
    db = get_session()
    found = roster.search_participants(db, programme, page=page_number())
    return render_template(
        "sessions/attendance_list.html",
        programme=programme,
        found=found,
        doses=operations.attendance_by_person(db, programme, now=now()),
    )


@bp.get("/programmes/<int:programme_id>/attendance/<int:participant_id>")
@requires("keep_registers")
def participant_sessions(programme_id: int, participant_id: int):
    """One person's sessions: each one they were expected at or came to, and their counts."""
    participant = participant_or_404(programme_id, participant_id)
    db = get_session()
    programme = participant.programme
    return render_template(
        "sessions/participant_sessions.html",
        programme=programme,
        participant=participant,
        lines=operations.sessions_of(db, participant),
        dose=operations.attendance_by_person(db, programme, now=now())[participant.id],
        mentoring_kind=operations.mentoring_kind(db, programme),
        now=now(),
    )
