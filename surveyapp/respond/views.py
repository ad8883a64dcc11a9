"""Participant-facing pages, reached through a personal link per invitation.

The link's token is exchanged for a session cookie at once, and the browser is
sent to an address without it, so the token does not leak through history or
the Referer header. The cookie (signed, not encrypted: anyone holding it can
read it) keeps only the invitation's number and a keyed digest of its token
(:func:`_session_reference`): nothing in it opens the link, and it stops working
when the link is replaced. Headers that keep these pages private (no caching, no
referrer) are set for all of ``/r/`` in surveyapp/web/security.py.

A page sent after the session or its form token expired (a tab left open
overnight) is not an error: the typed answers come back with a request to
press Continue again. Each page form carries a signed note of whose page it
is, so the session can be restored without the link's token in the page.
"""

import hashlib
import hmac

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError
from itsdangerous import BadData, URLSafeTimedSerializer

from surveyapp import csrf
from surveyapp.db import get_session
from surveyapp.evaluations import operations as evaluation
from surveyapp.models import Invitation
from surveyapp.questionnaires.answers import (
    as_posted,
    clean_text,
    error_labels,
    read_page,
    summary,
)
from surveyapp.reminders import sending
from surveyapp.respond import flow
from surveyapp.web.context import now, wave_questionnaire
from surveyapp.web.errors import http_error
from surveyapp.web.forms import ActionForm

bp = Blueprint("respond", __name__, url_prefix="/r", template_folder="templates")
SESSION_KEY = "respond"
#: Where sessions made before the cookie stopped carrying the token kept it.
LEGACY_SESSION_KEY = "respond_token"
#: How long a page left open can still bring its session back.
RESUME_MAX_AGE = 14 * 24 * 3600
EXPIRED_PAGE = (
    "This page was open for a long time, so your answers on it have not been saved yet. "
    "Check them below and press Continue again."
)
ONE_CLICK_DONE = "You will get no more reminders about this questionnaire.\n"
EXPIRED_SUBMIT = (
    "This page was open for a long time, so your answers have not been sent yet. "
    "Press Send my answers again."
)


def _not_active():
    return render_template("respond/not_active.html"), 404


def _session_reference(invitation: Invitation) -> str:
    """What the session cookie keeps: "<invitation id>.<keyed digest of its token>".

    The digest is an HMAC under the app's secret key, so it cannot be turned back into
    the link, and a cookie that leaks opens nothing anywhere else.
    """
    key = current_app.secret_key
    digest = hmac.new(
        key if isinstance(key, bytes) else key.encode(),
        b"surveyapp.respond.session:" + invitation.token.encode(),
        hashlib.sha256,
    ).hexdigest()[:32]
    return f"{invitation.id}.{digest}"


def _remember(invitation: Invitation) -> None:
    session.pop(LEGACY_SESSION_KEY, None)
    session[SESSION_KEY] = _session_reference(invitation)
    session.permanent = True


def _invitation() -> Invitation | None:
    db = get_session()
    legacy = session.get(LEGACY_SESSION_KEY)
    if legacy:  # a session from before: move it to the reference, dropping the token
        invitation = flow.find_invitation(db, legacy)
        session.pop(LEGACY_SESSION_KEY)
        if invitation is not None:
            _remember(invitation)
        return invitation
    reference = session.get(SESSION_KEY, "")
    number, _, digest = reference.partition(".") if isinstance(reference, str) else ("", "", "")
    if not number.isdigit() or not digest:
        return None
    invitation = flow.invitation_by_id(db, int(number))
    if invitation is None or not hmac.compare_digest(_session_reference(invitation), reference):
        return None
    return invitation


@bp.get("/<token>")
def link(token: str):
    """Exchange the personal link for a session, then go to the start page."""
    invitation = flow.find_invitation(get_session(), token)
    if invitation is None:
        return _not_active()
    _remember(invitation)
    return redirect(url_for(".start"), code=303)


@bp.get("/")
def start():
    """Show the start page, or where the participant stands if they cannot answer now."""
    invitation = _invitation()
    if invitation is None:
        return _not_active()
    db = get_session()
    flow.mark_opened(invitation, now())
    db.commit()
    state = flow.link_state(invitation, now())
    questionnaire = wave_questionnaire(invitation.wave)
    if state == "completed":
        return redirect(url_for(".complete"), code=303)
    answers = flow.answers_of(db, invitation)
    context = {
        "invitation": invitation,
        "wave": invitation.wave,
        "questionnaire": questionnaire,
        "state": state,
        "resume": flow.current_page(questionnaire, answers) if answers else None,
        "first": questionnaire.page_after(None, answers),
        "has_answers": bool(answers),
        "session_facts": evaluation.wave_session_facts(
            db, invitation.wave, current_app.config["STUDY_TIMEZONE"]
        ),
    }
    return render_template("respond/start.html", **context)


def _open_invitation():
    """Return (invitation, questionnaire) for a link that can be answered now, else a response."""
    invitation = _invitation()
    if invitation is None:
        return None, _not_active()
    state = flow.link_state(invitation, now())
    if state == "completed":
        return None, redirect(url_for(".complete"), code=303)
    if state != "open":
        return None, redirect(url_for(".start"), code=303)
    return invitation, wave_questionnaire(invitation.wave)


def _where_next(questionnaire, answers):
    page = flow.current_page(questionnaire, answers)
    if page is None:
        return redirect(url_for(".check_answers"), code=303)
    return redirect(url_for(".current_page", page_id=page.id), code=303)


@bp.route("/page/<page_id>", methods=["GET", "POST"])
def current_page(page_id: str):
    """Show one page of the questionnaire, and save it when it is sent."""
    invitation, stop = _open_invitation()
    if invitation is None:
        return stop
    questionnaire = wave_questionnaire(invitation.wave)
    db = get_session()
    answers = flow.answers_of(db, invitation)
    if not flow.may_show(questionnaire, answers, page_id):
        return _where_next(questionnaire, answers)
    page = questionnaire.page(page_id)
    form = ActionForm()
    posted, errors, revealed = as_posted(answers), {}, []
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        if request.form.get("page_id") != page.id:
            # Stale tab or forged post: show the page they are really on.
            return _where_next(questionnaire, answers)
        result = read_page(page, request.form.to_dict(flat=False), answers)
        version = request.form.get("version")
        changes = flow.changes_since(page, answers, version, result.values)
        if result.is_valid and changes:
            # Opened before answers saved in another tab: show both, save nothing yet.
            return _render_page(
                invitation, questionnaire, answers, page, form, result.posted, {}, [], changes
            )
        if result.is_valid:
            answers = flow.record_answers(
                db, invitation, questionnaire, result.values, now=now(), earlier=answers
            )
            db.commit()
            return _where_next(questionnaire, answers)
        posted, errors, revealed = result.posted, result.errors, result.revealed
        if changes:  # still stale: the next Continue must show the other tab's answers too
            return _render_page(
                invitation,
                questionnaire,
                answers,
                page,
                form,
                posted,
                errors,
                revealed,
                version=version,
            )
    else:
        if flow.note_shown(invitation, now()):  # the page is shown: timing starts or goes on
            db.commit()
    return _render_page(invitation, questionnaire, answers, page, form, posted, errors, revealed)


def _next_url(questionnaire, answers) -> str:
    page = flow.current_page(questionnaire, answers)
    if page is None:
        return url_for(".check_answers")
    return url_for(".current_page", page_id=page.id)


def _render_page(
    invitation,
    questionnaire,
    answers,
    page,
    form,
    posted,
    errors,
    revealed,
    changes=(),
    *,
    version=None,
):
    """Render a page; ``changes`` lists answers saved elsewhere since it was opened."""
    position, page_count = flow.page_place(questionnaire, answers, page.id)
    previous = questionnaire.page_before(page.id, answers)
    typed = read_page(page, posted, answers).values
    context = {
        "questionnaire": questionnaire,
        "wave": invitation.wave,
        "page": page,
        "items": page.shown_items({**answers, **typed}),
        "posted": posted,
        "errors": errors,
        "error_labels": error_labels(page, errors),
        "revealed": revealed,
        "form": form,
        "position": position,
        "page_count": page_count,
        "action": url_for(".current_page", page_id=page.id),
        "draft_url": url_for(".draft_save", page_id=page.id),
        "back": url_for(".current_page", page_id=previous.id) if previous else url_for(".start"),
        "resume": _resume_note(invitation),
        "version": version or flow.page_version(page, answers),
        "changes": changes,
        "keep_saved": _next_url(questionnaire, answers),
    }
    return render_template("respond/current_page.html", **context), 422 if errors else 200


@bp.errorhandler(CSRFError)
def _form_expired(error: CSRFError):
    """A form sent after the session or its token expired: ask again, keeping what was typed.

    Nothing is saved from the refused post itself.
    """
    if request.endpoint == "respond.draft_save":
        return "", 204  # a background save: the text stays in the box, and Continue will ask
    invitation = _invitation() or _restore_session()
    if invitation is None:
        return http_error(error)
    if request.endpoint == "respond.submit":
        flash(EXPIRED_SUBMIT, "info")
        return redirect(url_for(".check_answers"), code=303)
    if request.endpoint != "respond.current_page":
        return http_error(error)
    invitation, stop = _open_invitation()
    if invitation is None:
        return stop
    questionnaire = wave_questionnaire(invitation.wave)
    answers = flow.answers_of(get_session(), invitation)
    page_id = request.view_args["page_id"]
    if not flow.may_show(questionnaire, answers, page_id) or request.form.get("page_id") != page_id:
        return _where_next(questionnaire, answers)
    page = questionnaire.page(page_id)
    typed = read_page(page, request.form.to_dict(flat=False), answers)
    flash(EXPIRED_PAGE, "info")
    return _render_page(
        invitation,
        questionnaire,
        answers,
        page,
        ActionForm(),
        typed.posted,
        {},
        [],
        version=request.form.get("version"),
    )


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="surveyapp.respond.resume")


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:32]


def _resume_note(invitation: Invitation) -> str:
    """A signed note of the invitation (never its token) for the page's form."""
    return _serializer().dumps([invitation.id, _token_digest(invitation.token)])


def _restore_session() -> Invitation | None:
    """Bring back the participant's session from the note in the form they sent, if it holds.

    The note stops working when its link changes (a new token) or after RESUME_MAX_AGE.
    """
    try:
        invitation_id, digest = _serializer().loads(
            request.form.get("resume", ""), max_age=RESUME_MAX_AGE
        )
    except (BadData, TypeError, ValueError):
        return None
    stored = get_session().get(Invitation, invitation_id)
    if stored is None or _token_digest(stored.token) != digest:
        return None
    invitation = flow.find_invitation(get_session(), stored.token)
    if invitation is not None:
        _remember(invitation)
    return invitation


@bp.post("/page/<page_id>/draft")
def draft_save(page_id: str):
    """Keep long answers while they are typed (htmx, every few seconds); swap nothing."""
    invitation, stop = _open_invitation()
    if invitation is None:
        return "", 204
    questionnaire = wave_questionnaire(invitation.wave)
    db = get_session()
    answers = flow.answers_of(db, invitation)
    if not flow.may_show(questionnaire, answers, page_id):
        return "", 204
    page = questionnaire.page(page_id)
    version = request.form.get("version")
    if version and version != flow.page_version(page, answers):
        return "", 204  # a page opened before answers saved elsewhere: Continue shows both
    for item in page.shown_items(answers):
        if item.type == "long_text" and item.id in request.form:
            text = clean_text(request.form[item.id]).strip()[: item.max_length]
            flow.save_text_draft(db, invitation, item.id, text, now=now())
    # A long answer can open a later page: the count the reminders give follows it.
    answers = flow.answers_of(db, invitation)
    flow.count_pages(invitation, questionnaire, answers)
    db.commit()
    if not version:
        return "", 204
    # The page's version follows its own saves, so Continue does not mistake them for another tab's.
    return render_template(
        "respond/_page_version.html", version=flow.page_version(page, answers), oob=True
    )


@bp.get("/check-answers")
def check_answers():
    """List every answer with a Change link, then offer to send them."""
    invitation, stop = _open_invitation()
    if invitation is None:
        return stop
    questionnaire = wave_questionnaire(invitation.wave)
    answers = flow.answers_of(get_session(), invitation)
    if flow.current_page(questionnaire, answers) is not None:
        return _where_next(questionnaire, answers)
    last = questionnaire.shown_pages(answers)[-1]
    if flow.note_shown(invitation, now()):
        get_session().commit()
    return render_template(
        "respond/check_answers.html",
        questionnaire=questionnaire,
        wave=invitation.wave,
        rows=summary(questionnaire, answers),
        back=url_for(".current_page", page_id=last.id),
        form=ActionForm(),
    )


@bp.post("/submit")
def submit():
    """Send the answers, once; a second press lands on the same confirmation."""
    if not ActionForm().validate_on_submit():
        abort(400)
    invitation, stop = _open_invitation()
    if invitation is None:
        return stop
    questionnaire = wave_questionnaire(invitation.wave)
    db = get_session()
    try:
        flow.submit(db, invitation, questionnaire, now=now())
        db.commit()
    except flow.Incomplete as missing:
        db.rollback()
        return redirect(url_for(".current_page", page_id=missing.page.id), code=303)
    except flow.AlreadyCompleted:
        db.rollback()
    return redirect(url_for(".complete"), code=303)


@bp.get("/complete")
def complete():
    """Confirm that the answers were received."""
    invitation = _invitation()
    if invitation is None:
        return _not_active()
    if not invitation.is_completed:
        return redirect(url_for(".start"), code=303)
    questionnaire = wave_questionnaire(invitation.wave)
    return render_template(
        "respond/complete.html", questionnaire=questionnaire, wave=invitation.wave
    )


@bp.route("/<token>/no-reminders", methods=["GET", "POST"])
def opt_out(token: str):
    """Let a person stop reminders about this wave; the questionnaire stays open to them.

    A POST of ``List-Unsubscribe=One-Click`` is a mail program's one-click opt-out
    (RFC 8058, offered in every email's List-Unsubscribe-Post header): no page, no
    session and no form token, the personal link being the credential. That is why this
    view is exempt from the app-wide CSRF check; any other POST is the confirmation
    page's form, and is checked here as every form is.
    """
    db = get_session()
    invitation = flow.find_invitation(db, token)
    if invitation is None:
        return _not_active()
    if request.method == "POST" and request.form.get("List-Unsubscribe") == "One-Click":
        sending.opt_out(invitation, now=now())
        db.commit()
        return ONE_CLICK_DONE, 200, {"Content-Type": "text/plain; charset=utf-8"}
    form = ActionForm()
    if request.method == "POST":
        if current_app.config["WTF_CSRF_ENABLED"]:
            csrf.protect()  # a missing or stale token is refused as on every form
        if not form.validate_on_submit():
            abort(400)
        sending.opt_out(invitation, now=now())
        db.commit()
        return redirect(url_for(".opt_out", token=token), code=303)
    return render_template(
        "respond/opt_out.html", wave=invitation.wave, invitation=invitation, form=form, token=token
    )


csrf.exempt(opt_out)  # only for the one-click POST: the form's POST is checked above
