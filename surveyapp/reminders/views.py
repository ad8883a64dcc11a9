"""A wave's reminder plan: its steps, its emails with a live preview, Send now, the outbox."""

import logging

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
from sqlalchemy import select

from surveyapp.db import get_session
from surveyapp.mail import mailer_from_config, message_id_for
from surveyapp.models import (
    EmailTemplate,
    Message,
    ReminderStep,
    Wave,
)
from surveyapp.reminders import editor, plan, sending
from surveyapp.reminders import emails as templates
from surveyapp.reminders.forms import NewTemplateForm, StepForm, TemplateForm
from surveyapp.timezones import to_local, to_utc
from surveyapp.waves import dashboard
from surveyapp.web.context import (
    PER_PAGE,
    audit_action,
    now,
    page_number,
    study_zone,
)
from surveyapp.web.filters import local_time
from surveyapp.web.forms import ActionForm
from surveyapp.web.htmx import render_page_or_fragment
from surveyapp.web.permissions import (
    requires,
    wave_or_404,
)

bp = Blueprint("reminders", __name__, url_prefix="/admin", template_folder="templates")
logger = logging.getLogger(__name__)

#: Messages "Send now" delivers while the administrator waits (with a pace set, as many as
#: the pace allows in ten seconds); `flask reminders send` (run by cron) sends the rest.
SEND_NOW_LIMIT = 500


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
        "reminders/reminder_plan.html",
        wave=wave,
        templates=wave_templates,
        steps=plan.scheduled_steps(db, wave),
        counts=plan.message_counts(db, wave),
        audiences=dashboard.AUDIENCE_WORDS,
        send_problem=plan.send_problem(wave, now()),
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
    zone = study_zone()
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
            saved = plan.save_step(
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
        except plan.StepProblem as problem:
            db.rollback()
            (form.send_on if by_date else form.days_after_opening).errors.append(str(problem))
        else:
            audit_action(
                "reminders.plan",
                f"Step “{saved.label}” of “{wave.label}” {'added' if step is None else 'changed'}",
                programme_id=wave.programme_id,
                kind="reminder step",
                number=saved.id,
            )
            db.commit()
            due = local_time(sending.due_at(saved))
            moved = plan.send_day_of(saved).note  # "Moved from ...: bank holiday", or ""
            flash(f"“{saved.label}” saved: due {due}. {moved}".rstrip())
            return redirect(url_for(".reminder_plan", wave_id=wave.id), code=303)
    status = 422 if form.errors else 200
    name = (
        "reminders/reminder_step_new.html" if step is None else "reminders/reminder_step_edit.html"
    )
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
        plan.delete_step(db, step)
    except plan.StepProblem as problem:
        db.rollback()
        flash(str(problem), "error")
    else:
        audit_action(
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
    problem = plan.send_problem(wave, now())
    settings = sending.settings_from_config(current_app.config)
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        if problem:
            flash(problem, "error")
            return redirect(url_for(".reminder_plan", wave_id=wave.id), code=303)
        return _send_now(wave, step, settings)
    people = plan.new_recipients(db, step)
    page = max(1, min(page_number(), max(1, -(-len(people) // PER_PAGE))))
    shown = people[(page - 1) * PER_PAGE : page * PER_PAGE]
    rendered = [(i, sending.render_for(i, step, now(), settings)) for i in shown]
    return render_template(
        "reminders/reminder_send.html",
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
    audit_action(
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
        limit=max(1, settings.per_minute // 6) if settings.per_minute else SEND_NOW_LIMIT,
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
    where = "kept, not sent: no mail server" if mailer.transport == "outbox" else "sent"
    message = f"“{step.label}”: {queued} new message(s). {report.sent} {where}"
    if report.failed:
        message += f", {report.failed} failed (they are retried later)"
    if report.cancelled:
        message += f", {report.cancelled} not sent because the person no longer qualifies"
    if report.unsure:
        message += f", {report.unsure} may have been sent (see the outbox)"
    if report.paused_until:
        message += (
            f". The mail server asked us to wait (“{report.paused_because}”): sending "
            f"starts again after {local_time(report.paused_until)}"
        )
    handled = report.sent + report.failed + report.cancelled + report.unsure
    if queued > handled and not report.paused_until:
        message += ". The rest go at the set pace with the scheduled sending"
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
        "reminders/template_list.html", wave=wave, templates=wave_templates, used=used
    )


def _problems_to_fields(form: TemplateForm, problems: dict[str, str]) -> None:
    for part, message in problems.items():
        getattr(form, part).errors = [*getattr(form, part).errors, message]


def _chosen(form: TemplateForm, people):
    """The person the editor previews: the one chosen, else the first invited, else None."""
    chosen = next((i for i in people if str(i.id) == form.participant.data), None)
    if chosen is None and people:
        chosen = people[0]
        form.participant.data = str(chosen.id)
    return chosen


def _template_page(wave: Wave, template: EmailTemplate | None, form: TemplateForm, people):
    """What the email editor shows, with the preview for the chosen person."""
    db = get_session()
    chosen = _chosen(form, people)
    step = plan.template_step(db, wave, template)
    settings = sending.settings_from_config(current_app.config)
    return {
        "wave": wave,
        "template": template,
        "form": form,
        "fields": editor.fields_for(chosen, step, now=now(), settings=settings),
        "preview": plan.preview_template(
            form.subject.data or "",
            form.body.data or "",
            chosen or editor.example_invitation(),
            step,
            now=now(),
            settings=settings,
        ),
        "chosen": chosen,
        "missing_links": templates.missing_links(form.body.data or ""),
        "mail_server": bool(current_app.config.get("MAIL_SERVER")),
    }


@bp.route("/waves/<int:wave_id>/reminders/emails/new", methods=["GET", "POST"])
@requires("manage_waves")
def template_new(wave_id: int):
    """Write a new email for the wave's plan."""
    db = get_session()
    wave = wave_or_404(wave_id)
    form = NewTemplateForm()
    people = plan.preview_people(db, wave)
    form.set_choices(people)
    if form.is_submitted() and not form.preview.data:
        form.validate()  # every mistake is named at once: the form's, the text's, the name's
        problems = templates.save_problems(form.subject.data or "", form.body.data or "")
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
            audit_action(
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
    return render_template("reminders/template_new.html", **context), status


@bp.route("/waves/<int:wave_id>/reminders/emails/<int:template_id>", methods=["GET", "POST"])
@requires("manage_waves")
def template_edit(wave_id: int, template_id: int):
    """Edit an email's subject and text, with a preview for a chosen person."""
    db = get_session()
    wave = wave_or_404(wave_id)
    template = _template(wave, template_id)
    form = TemplateForm(obj=template)
    people = plan.preview_people(db, wave)
    form.set_choices(people)
    if form.validate_on_submit():
        check = templates.template_problems if form.preview.data else templates.save_problems
        problems = check(form.subject.data, form.body.data)
        _problems_to_fields(form, problems)
        if not problems and not form.preview.data:
            template.subject = form.subject.data.strip()
            template.body = form.body.data
            template.updated_at = now()
            audit_action(
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
    return render_template("reminders/template_edit.html", **context), status


@bp.post("/waves/<int:wave_id>/reminders/emails/preview", defaults={"template_id": None})
@bp.post("/waves/<int:wave_id>/reminders/emails/<int:template_id>/preview")
@requires("manage_waves")
def template_preview(wave_id: int, template_id: int | None):
    """Render the email as typed for the chosen person; nothing is saved."""
    db = get_session()
    wave = wave_or_404(wave_id)
    template = _template(wave, template_id) if template_id is not None else None
    form = TemplateForm() if template is not None else NewTemplateForm()
    people = plan.preview_people(db, wave)
    form.set_choices(people)
    form.validate()  # CSRFProtect has checked the token before this view runs
    _problems_to_fields(
        form, templates.template_problems(form.subject.data or "", form.body.data or "")
    )
    return render_page_or_fragment(
        "reminders/template_edit.html" if template is not None else "reminders/template_new.html",
        "reminders/_template_preview.html",
        **_template_page(wave, template, form, people),
    )


@bp.post("/waves/<int:wave_id>/reminders/emails/test", defaults={"template_id": None})
@bp.post("/waves/<int:wave_id>/reminders/emails/<int:template_id>/test")
@requires("manage_waves")
def template_test(wave_id: int, template_id: int | None):
    """Send the email as typed, for the chosen person, to the signed-in member of staff.

    Nothing is saved but the audit entry; the page comes back with the text as typed.
    """
    db = get_session()
    wave = wave_or_404(wave_id)
    template = _template(wave, template_id) if template_id is not None else None
    form = TemplateForm() if template is not None else NewTemplateForm()
    people = plan.preview_people(db, wave)
    form.set_choices(people)
    form.validate()  # CSRFProtect has checked the token before this view runs
    if template is None:
        form.name.errors = []  # the name matters when saving, not for a test
    problems = templates.template_problems(form.subject.data or "", form.body.data or "")
    _problems_to_fields(form, problems)
    name = "reminders/template_edit.html" if template is not None else "reminders/template_new.html"
    if form.errors:
        return render_template(name, **_template_page(wave, template, form, people)), 422
    settings = sending.settings_from_config(current_app.config)
    step = plan.template_step(db, wave, template)
    chosen = _chosen(form, people)
    fields = editor.fields_for(chosen, step, now=now(), settings=settings)
    rendered = templates.render(
        form.subject.data, form.body.data, editor.with_example_links(fields.values, settings)
    )
    try:
        problem = editor.send_test(
            mailer_from_config(current_app.config),
            to=g.user.email,
            rendered=rendered,
            settings=settings,
        )
    except ValueError as error:  # a mail setting that cannot work
        problem = str(error)
    called = f"“{template.name}”" if template is not None else "the new email"
    if problem is None:
        audit_action(
            "reminders.test",
            f"Test of {called} of “{wave.label}” sent to {g.user.email}",
            programme_id=wave.programme_id,
            kind="email template" if template is not None else "",
            number=template.id if template is not None else "",
        )
        db.commit()
        flash(f"A test of {called} for {fields.person} was sent to {g.user.email}.")
    else:
        flash(
            f"The test was not sent because {problem}. The preview shows what it would say.",
            "error",
        )
    return render_template(name, **_template_page(wave, template, form, people))


@bp.get("/waves/<int:wave_id>/outbox")
@requires("manage_waves")
def outbox_list(wave_id: int):
    """List the wave's messages with their state, newest first; ?state= narrows the list."""
    db = get_session()
    wave = wave_or_404(wave_id)
    state = request.args.get("state", "")
    state = state if state in plan.SHOWN_STATES else ""
    return render_template(
        "reminders/outbox_list.html",
        wave=wave,
        state=state,
        states=plan.SHOWN_STATES,
        totals=plan.state_counts(db, wave),
        found=plan.outbox(db, wave, state=state, page=page_number(), per_page=PER_PAGE),
        form=ActionForm(),
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
        "reminders/message_detail.html",
        wave=wave,
        message=message,
        message_id=message_id_for(message.id, domain),
        sender=current_app.config["MAIL_FROM"],
        form=ActionForm(),
    )


@bp.post("/waves/<int:wave_id>/outbox/<int:message_id>/send-again")
@requires("manage_waves")
def message_send_again(wave_id: int, message_id: int):
    """Queue again a message that may have been sent: the administrator says it did not."""
    return _decide(wave_id, message_id, again=True)


@bp.post("/waves/<int:wave_id>/outbox/<int:message_id>/mark-sent")
@requires("manage_waves")
def message_mark_sent(wave_id: int, message_id: int):
    """Record as sent a message that may have been sent: the administrator says it did."""
    return _decide(wave_id, message_id, again=False)


def _decide(wave_id: int, message_id: int, *, again: bool):
    wave = wave_or_404(wave_id)
    message = get_session().get(Message, message_id)
    if message is None or message.wave_id != wave.id:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    to = f"“{message.subject}” to {message.to_address}"
    if not (plan.send_again(message) if again else plan.mark_as_sent(message)):
        flash(f"Nothing changed: {to} is {message.state_words} now, not undecided.", "error")
        return redirect(url_for(".outbox_list", wave_id=wave.id), code=303)
    words = "queued to be sent again" if again else "marked as sent"
    audit_action(
        "message.send_again" if again else "message.mark_sent",
        f"{to}, which may have been sent, {words}",
        programme_id=wave.programme_id,
        kind="message",
        number=message.id,
    )
    get_session().commit()
    later = " It goes with the next scheduled sending." if again else ""
    flash(f"{to} {words}.{later}")
    return redirect(url_for(".outbox_list", wave_id=wave.id), code=303)


@bp.app_template_global("email_refusals")
def email_refusals(people) -> dict[int, str]:
    """For the cohort list: {participant id: answer} for addresses a mail server refused."""
    return sending.refused_addresses(get_session(), list(people))
