"""Data protection pages of one participant: the subject access download and erasure.

Both are logged in the audit trail by ID number, never with what was held.
"""

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    url_for,
)
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import InputRequired

from surveyapp.audit import operations as audit
from surveyapp.db import get_session
from surveyapp.exports import jobs
from surveyapp.privacy import operations as privacy
from surveyapp.web.context import now, version_questionnaire
from surveyapp.web.permissions import ask_for_password_again, participant_or_404, requires

bp = Blueprint("privacy", __name__, url_prefix="/admin", template_folder="templates")

PERSON = "/programmes/<int:programme_id>/participants/<int:participant_id>"


class ErasureForm(FlaskForm):
    id_number = StringField(
        "Type their ID number to confirm",
        validators=[InputRequired("Type the person's ID number to confirm the erasure")],
    )


@bp.get(f"{PERSON}/subject-access")
@requires("protect_data")
def subject_access(programme_id: int, participant_id: int):
    """Download everything held about one person: a ZIP of a readable page and a JSON file."""
    participant = participant_or_404(programme_id, participant_id)
    db = get_session()
    held = privacy.subject_access(
        db, participant, now=now(), questionnaire_of=version_questionnaire
    )
    zone = current_app.config["STUDY_TIMEZONE"]
    html = render_template("privacy/subject_access_file.html", held=held, zone=zone)
    filename, content = privacy.package(held, html, zone=zone)
    audit.record(
        db,
        action="participant.subject_access",
        summary=f"Everything held about {audit.person(participant)} downloaded (subject access)",
        actor=g.user,
        programme_id=programme_id,
        object_type="participant",
        object_id=participant.id,
        now=now(),
    )
    db.commit()
    return Response(
        content,
        mimetype="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@bp.route(f"{PERSON}/erase", methods=["GET", "POST"])
@requires("protect_data")
def participant_erase(programme_id: int, participant_id: int):
    """Say exactly what erasing a person removes and keeps; erase on confirmation."""
    participant = participant_or_404(programme_id, participant_id)
    back = url_for(
        "people.participant_edit", programme_id=programme_id, participant_id=participant.id
    )
    if participant.erased_at is not None:
        flash("This person's data has already been erased.")
        return redirect(back, code=303)
    asked = ask_for_password_again(
        url_for(".participant_erase", programme_id=programme_id, participant_id=participant.id)
    )
    if asked is not None:
        return asked
    db = get_session()
    form = ErasureForm()
    if form.validate_on_submit():
        if form.id_number.data.strip() != participant.id_number:
            form.id_number.errors.append(
                f"Type the ID number {participant.id_number} exactly as shown, to confirm"
            )
        else:
            old_number = participant.id_number
            done = privacy.erase(
                db, participant, now=now(), key=current_app.config["SECRET_KEY"].encode()
            )
            # A background export made before now could still hold their answers.
            jobs.remove_for_waves(
                jobs.store_for(current_app.config, current_app.instance_path),
                {wave.id for wave in participant.programme.waves},
            )
            audit.record(
                db,
                action="participant.erase",
                summary=(
                    f"{audit.person(participant).capitalize()} erased at their request: "
                    f"contact details and ID number removed, {done.responses} "
                    f"identified response(s) with {done.answers} answer(s) and {done.drafts} "
                    f"answer(s) in progress deleted, {done.messages} email(s) blanked, "
                    f"{done.invitations} link(s) stopped"
                ),
                actor=g.user,
                programme_id=programme_id,
                object_type="participant",
                object_id=participant.id,
                now=now(),
            )
            db.commit()
            flash(
                f"The data of participant {old_number} has been erased. They are listed as "
                "“erased” from now on."
            )
            return redirect(back, code=303)
    status = 422 if form.errors else 200
    return render_template(
        "privacy/participant_erase.html",
        participant=participant,
        programme=participant.programme,
        plan=privacy.erasure_plan(db, participant),
        form=form,
        back=back,
    ), status
