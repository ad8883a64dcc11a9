"""Questionnaire pages of the study team: the files, their stored versions, and a preview."""

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from surveyapp.db import get_session
from surveyapp.questionnaires import catalogue
from surveyapp.questionnaires.answers import as_posted, error_labels, read_page, summary
from surveyapp.respond import flow
from surveyapp.web.context import (
    audit_action,
    get_catalogue,
    get_questionnaire,
    now,
)
from surveyapp.web.forms import ActionForm
from surveyapp.web.permissions import (
    requires,
)

bp = Blueprint("questionnaires", __name__, url_prefix="/admin", template_folder="templates")


#: Preview answers live in the signed session cookie, never in the database;
#: long texts are cut so the cookie stays under the browsers' 4 KB limit.
PREVIEW_TEXT_LIMIT = 200


@bp.get("/questionnaires")
@requires("see_questionnaires")
def questionnaire_list():
    """List every questionnaire file with its state and stored version."""
    loaded = get_catalogue()
    versions = catalogue.latest_versions(get_session())
    return render_template(
        "questionnaires/questionnaire_list.html",
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
        audit_action(
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
        "questionnaires/questionnaire_detail.html",
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
    return render_template("questionnaires/version_detail.html", key=key, version=version)


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
        "questionnaires/preview_start.html",
        questionnaire=questionnaire,
        first=first,
        form=ActionForm(),
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
    position, page_count = flow.page_place(questionnaire, answers, page.id)
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
        "position": position,
        "page_count": page_count,
        "action": url_for(".preview_page", key=key, page_id=page.id),
        "back": url_for(".preview_page", key=key, page_id=previous.id)
        if previous
        else url_for(".preview_start", key=key),
        "is_preview": True,
    }
    return render_template("questionnaires/preview_page.html", **context), 422 if errors else 200


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
        "questionnaires/preview_check.html",
        questionnaire=questionnaire,
        rows=summary(questionnaire, answers),
        form=ActionForm(),
    )
