"""Questionnaire pages of the study team: the files, their stored versions, a preview, and
files that come through the browser (uploaded, or written in the editor)."""

import base64
import json

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
from surveyapp.errors import StoredMeanwhile
from surveyapp.models import Programme
from surveyapp.questionnaires import catalogue, redcap, uploading, xlsform
from surveyapp.questionnaires.answers import as_posted, error_labels, read_page, summary
from surveyapp.questionnaires.forms import DictionaryForm, EditorForm, StoreForm, UploadForm
from surveyapp.respond import flow
from surveyapp.staff import access
from surveyapp.web.context import (
    audit_action,
    get_catalogue,
    get_questionnaire,
    now,
    version_questionnaire,
)
from surveyapp.web.forms import ActionForm
from surveyapp.web.htmx import render_page_or_fragment
from surveyapp.web.permissions import (
    requires,
)

bp = Blueprint("questionnaires", __name__, url_prefix="/admin", template_folder="templates")


@bp.errorhandler(StoredMeanwhile)
def stored_meanwhile(error: StoredMeanwhile):
    """Two people stored a version of one questionnaire at once: the second is told, not a 500."""
    get_session().rollback()
    flash(str(error), "error")
    return redirect(url_for(".questionnaire_list"), code=303)


#: Preview answers live in the signed session cookie, never in the database;
#: long texts are cut so the cookie stays under the browsers' 4 KB limit.
PREVIEW_TEXT_LIMIT = 200


@bp.get("/questionnaires")
@requires("see_questionnaires")
def questionnaire_list():
    """List every questionnaire file with its state and stored version."""
    loaded = get_catalogue()
    versions = catalogue.latest_versions(get_session())
    files = {result.path.stem for result in loaded.results}
    return render_template(
        "questionnaires/questionnaire_list.html",
        results=loaded.results,
        versions=versions,
        earlier=catalogue.stored_texts(get_session()),
        stored_only=sorted(
            (v for key, v in versions.items() if key not in files), key=lambda v: v.title
        ),
        form=ActionForm(),
        upload=UploadForm(),
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
    result = get_catalogue().result(key)
    versions = catalogue.versions_of(get_session(), key)
    if result is None and not versions:
        abort(404)
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
        questionnaire=result.questionnaire if result else version_questionnaire(current),
        history=history,
        is_stored=current is not None
        and (result is None or current.content_hash == result.content_hash),
        form=ActionForm(),
    )


@bp.get("/questionnaires/<key>/versions/<int:number>")
@requires("see_questionnaires")
def version_detail(key: str, number: int):
    """Show (or download with ?download=1) the exact text of one stored version."""
    version = _version_or_404(key, number)
    if request.args.get("download"):
        return Response(
            version.source_text,
            mimetype="application/yaml",
            headers={
                # The name the file has in the questionnaire folder, so that it can be
                # checked, edited and uploaded again as it is.
                "Content-Disposition": f'attachment; filename="{key}.yaml"',
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


# -- files from the browser: upload, store, edit --------------------------------------------


def _pack(files: list[tuple[str, bytes]]) -> str:
    return json.dumps([[name, base64.b64encode(data).decode("ascii")] for name, data in files])


def _unpack(content: str) -> list[tuple[str, bytes]]:
    """The files a report sent back; an empty list when the field was tampered with."""
    try:
        files = [
            (str(name), base64.b64decode(data, validate=True)) for name, data in json.loads(content)
        ]
    except (ValueError, TypeError):
        return []
    return files[: uploading.MAX_FILES]


def _read(upload) -> bytes:
    """The bytes of an uploaded file; a large one was spooled to disk, so close it now."""
    try:
        return upload.read()
    finally:
        upload.close()


def _audit_refused(action: str, refused: list) -> None:
    for item in refused:
        audit_action(
            action,
            f"{item.name} refused: {len(item.errors)} error(s)",
            kind="questionnaire file",
            number=item.name,
        )


@bp.route("/questionnaires/upload", methods=["GET", "POST"])
@requires("load_questionnaires")
def questionnaires_upload():
    """Check uploaded questionnaire files and show every finding before anything is stored."""
    form = UploadForm()
    store = StoreForm()
    checked = None
    if form.validate_on_submit():
        chosen = form.chosen()
        if not chosen:
            form.files.errors.append("Choose one or more questionnaire files (.yaml) to upload")
        elif len(chosen) > uploading.MAX_FILES:
            form.files.errors.append(
                f"Choose at most {uploading.MAX_FILES} files at a time; you chose {len(chosen)}"
            )
        else:
            files = [(item.filename, _read(item)) for item in chosen]
            db = get_session()
            checked = uploading.check_files(db, files)
            _audit_refused("questionnaire.upload_refused", [c for c in checked if c.errors])
            db.commit()
            store.content.data = _pack(
                [(c.name, data) for c, (_, data) in zip(checked, files, strict=True) if c.can_store]
            )
    status = 422 if form.errors or any(c.errors for c in checked or []) else 200
    return render_template(
        "questionnaires/questionnaires_upload.html",
        form=form,
        store=store,
        checked=checked,
        visible=_visible_programmes(),
    ), status


def _visible_programmes() -> set[int] | None:
    """Programmes the signed-in person may see (None: all); other programmes' waves are
    counted, never named."""
    if access.sees_every_programme(g.user):
        return None
    return set(
        get_session().scalars(access.visible_programmes(g.user).with_only_columns(Programme.id))
    )


@bp.post("/questionnaires/upload/store")
@requires("load_questionnaires")
def questionnaires_upload_store():
    """Store the checked files that have no error as new versions."""
    form = StoreForm()
    if not form.validate_on_submit():
        abort(400)
    files = _unpack(form.content.data)
    if not files:
        abort(400)
    db = get_session()
    checked = uploading.check_files(db, files)  # again: what is stored is checked now
    names = {c.result.content_hash: c.name for c in checked}
    stored = [
        item for item in uploading.store_checked(db, checked, now=now(), user=g.user) if item.is_new
    ]
    for item in stored:
        audit_action(
            "questionnaire.upload",
            f"{item.key} version {item.version.number} stored from the uploaded file "
            f"{names.get(item.version.content_hash, '')}",
            kind="questionnaire version",
            number=item.version.id,
        )
    _audit_refused("questionnaire.upload_refused", [c for c in checked if c.errors])
    db.commit()
    flash(
        f"{len(stored)} new version(s) stored: "
        + ", ".join(f"{item.key} version {item.version.number}" for item in stored)
        + "."
        if stored
        else "Nothing was stored: the files are already stored or have errors."
    )
    if len(stored) == 1:
        return redirect(url_for(".questionnaire_detail", key=stored[0].key), code=303)
    return redirect(url_for(".questionnaire_list"), code=303)


#: The text a new questionnaire starts from in the editor: the smallest file that loads.
STARTER = """\
format_version: 1
key: new_questionnaire
title: A new questionnaire
estimated_minutes: 5
source: Written for the product
origin: written
pages:
  - id: first_page
    title: The first page
    items:
      - id: first_question
        type: short_text
        text: What is your first question?
"""


@bp.route("/questionnaires/new", methods=["GET", "POST"])
@requires("load_questionnaires")
def questionnaire_new():
    """Write a new questionnaire file in the browser, checked as it is typed."""
    form = EditorForm(prefix="editor")
    if request.method == "GET":
        form.name.data = "new_questionnaire.yaml"
        form.text.data = STARTER
    return _editor(form, None)


@bp.route("/questionnaires/<key>/versions/<int:number>/edit", methods=["GET", "POST"])
@requires("load_questionnaires")
def version_edit(key: str, number: int):
    """Change a stored version's text in the browser; saving stores a new version."""
    version = _version_or_404(key, number)
    form = EditorForm(prefix="editor")
    # A stored questionnaire keeps its file name, whatever was posted.
    form.name.data = f"{key}.yaml"
    form.name.raw_data = [form.name.data]
    if request.method == "GET":
        form.text.data = version.source_text
    return _editor(form, version)


@bp.route("/questionnaires/import", methods=["GET", "POST"])
@requires("load_questionnaires")
def questionnaire_import():
    """Convert a REDCap data dictionary or an XLSForm workbook to a questionnaire file and
    open it in the editor,
    with every construct that could not be carried over listed; nothing is stored."""
    form = DictionaryForm()
    problem = ""
    if form.validate_on_submit():
        name = uploading.file_name(form.file.data.filename)
        try:
            data = _read(form.file.data)
            convert = (
                xlsform.convert_workbook
                if name.lower().endswith(".xlsx")
                or data[:4] in (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")
                else redcap.convert_dictionary
            )
            converted = convert(data, name)
        except redcap.DictionaryProblem as exc:
            problem = f"{name}: {exc}"
            audit_action(
                "questionnaire.upload_refused",
                f"{name} refused: not a data dictionary or workbook that can be read",
                kind="questionnaire file",
                number=name,
            )
            get_session().commit()
        else:
            editor = EditorForm(prefix="editor", formdata=None)
            editor.name.data = f"{converted.key}.yaml"
            editor.text.data = converted.text
            return _editor(
                editor,
                None,
                action=url_for(".questionnaire_new"),
                imported=(name, converted),
            )
    if problem:
        form.file.errors.append(problem)
    return render_template(
        "questionnaires/questionnaire_import.html", form=form
    ), 422 if form.errors else 200


def _editor(form: EditorForm, version, action: str | None = None, imported=None):
    """Check the editor's text; store it on Save when the checker finds no error."""
    db = get_session()
    valid = form.validate() if request.method == "POST" and imported is None else True
    checked = None
    if valid:
        text = (form.text.data or "").replace("\r\n", "\n")
        checked = uploading.check_file(db, form.name.data, text.encode("utf-8"))
    saving = request.method == "POST" and imported is None and "save" in request.form
    status = 422 if not valid or (checked and checked.errors) else 200
    if saving and checked is not None and checked.can_store:
        stored = uploading.store_checked(db, [checked], now=now(), user=g.user)[0]
        audit_action(
            "questionnaire.edit",
            f"{stored.key} version {stored.version.number} stored from the editor",
            kind="questionnaire version",
            number=stored.version.id,
        )
        db.commit()
        flash(f"{stored.key} version {stored.version.number} stored.")
        return redirect(url_for(".questionnaire_detail", key=stored.key), code=303)
    note = ""
    if saving:
        if checked is None or checked.errors:
            audit_action(
                "questionnaire.edit_refused",
                f"{form.name.data or 'a new file'} not stored from the editor: it has errors",
                kind="questionnaire file",
                number=form.name.data or "",
            )
            db.commit()
            note = "Nothing was stored: correct the errors first."
        elif checked.is_unchanged:
            note = f"Nothing was stored: this text is already version {checked.current.number}."
    questionnaire = checked.questionnaire if checked else None
    page = uploading.page_at(questionnaire, form.line()) if questionnaire else None
    return render_page_or_fragment(
        "questionnaires/questionnaire_editor.html",
        "questionnaires/_editor_check.html",
        status=status,
        form=form,
        version=version,
        checked=checked,
        note=note,
        questionnaire=questionnaire,
        preview_page=page,
        action=action or request.path,
        imported=imported,
        visible=_visible_programmes(),
    )


def _version_or_404(key: str, number: int):
    versions = {version.number: version for version in catalogue.versions_of(get_session(), key)}
    return versions.get(number) or abort(404)
