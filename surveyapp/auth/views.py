"""Staff sign-in and sign-out, two-step verification; ``login_required`` guards every admin
page.

Signing in with a password alone gives a *pending* session for anyone who has two-step
verification or must have it (REQUIRE_TWO_STEP): it opens no page but the second step, or
enrolment, for PENDING_MINUTES. ``login_required`` also sends a signed-in person who must
use two-step verification but has not set it up (a role or the setting changed) to enrolment.

A staff session ends after STAFF_IDLE_MINUTES without a request. Admin pages
warn STAFF_IDLE_WARNING_SECONDS before (static/js/app.js) and offer to stay
signed in. Requests that a page makes on its own (polling, asking how long is
left) do not count as activity, or an open dashboard would never expire.
"""

import functools
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from surveyapp.audit import operations as audit
from surveyapp.auth import two_step
from surveyapp.auth.forms import (
    CodeForm,
    ConfirmPasswordForm,
    EnrolForm,
    SignInForm,
)
from surveyapp.db import get_session
from surveyapp.models import User
from surveyapp.staff import operations as accounts
from surveyapp.web.context import now

bp = Blueprint("auth", __name__, url_prefix="/auth", template_folder="templates")
LAST_ACTIVE = "last_active"
SIGNED_IN_AT = "signed_in_at"
SESSION_VERSION = "session_version"
#: When the person last proved who they are (password, or a code): for step-up.
CONFIRMED_AT = "confirmed_at"
#: A password accepted, the second step not yet taken.
PENDING_USER = "pending_user_id"
PENDING_AT = "pending_at"
PENDING_NEXT = "pending_next"
PENDING_MINUTES = 10
#: The provider a person signed in with (single sign-on): no two-step code of ours is asked.
SIGNED_IN_WITH = "signed_in_with"
#: Sent by app.js on requests the page makes by itself (htmx polling).
BACKGROUND_HEADER = "X-Surveyapp-Background"


@bp.before_app_request
def load_signed_in_user() -> None:
    g.pending_user = None
    if request.endpoint == "static":
        g.user = None
        return
    user_id = session.get("user_id")
    g.user = get_session().get(User, user_id) if user_id is not None else None
    if g.user is not None and (
        not g.user.is_active
        or session.get(SESSION_VERSION) != g.user.session_version
        or _signed_in_too_long()
    ):
        session.clear()
        g.user = None
    if g.user is not None:
        _expire_or_touch()
    elif session.get(PENDING_USER) is not None:
        _load_pending_user()


def _load_pending_user() -> None:
    """The person whose password was accepted, for the second step; forgotten when late."""
    user = get_session().get(User, session[PENDING_USER])
    try:
        started = datetime.fromisoformat(session[PENDING_AT])
    except (KeyError, TypeError, ValueError):
        started = None
    if (
        user is None
        or not user.is_active
        or session.get(SESSION_VERSION) != user.session_version
        or started is None
        or now() - started >= timedelta(minutes=PENDING_MINUTES)
    ):
        session.clear()
        return
    g.pending_user = user


def _signed_in_too_long() -> bool:
    """However active, a staff session ends PERMANENT_SESSION_LIFETIME after signing in."""
    try:
        signed_in = datetime.fromisoformat(session[SIGNED_IN_AT])
    except (KeyError, TypeError, ValueError):
        return True
    return now() - signed_in >= current_app.permanent_session_lifetime


def _expire_or_touch() -> None:
    """Sign out a staff member idle too long; else note this request as activity."""
    moment = now()
    last = _last_active()
    if last is not None and moment - last >= idle_limit():
        session.clear()
        g.user = None
        flash(
            f"You were signed out because you were inactive for {_duration(idle_limit())}.",
            "info",
        )
        return
    if last is None or _counts_as_activity():
        session[LAST_ACTIVE] = moment.isoformat()


def _last_active() -> datetime | None:
    try:
        return datetime.fromisoformat(session[LAST_ACTIVE])
    except (KeyError, TypeError, ValueError):
        return None


def _counts_as_activity() -> bool:
    return request.endpoint != "auth.session_status" and not request.headers.get(BACKGROUND_HEADER)


def idle_limit() -> timedelta:
    return timedelta(minutes=current_app.config["STAFF_IDLE_MINUTES"])


def seconds_left() -> int:
    """Seconds until the signed-in staff member's session ends if nothing else happens."""
    last = _last_active() or now()
    return max(0, int((last + idle_limit() - now()).total_seconds()))


def _duration(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    if seconds % 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = seconds // 60
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


@bp.app_context_processor
def _staff_session() -> dict:
    """What admin pages tell app.js about the session, for the timeout warning."""
    if g.get("user") is None:
        return {"staff_session": None}
    return {
        "staff_session": {
            "remaining": seconds_left(),
            "warning": int(current_app.config["STAFF_IDLE_WARNING_SECONDS"]),
        }
    }


def login_required(view):
    """Send anyone not signed in to the sign-in page, and back here afterwards."""

    @functools.wraps(view)
    def wrapped(**kwargs):
        if g.get("user") is None:
            if g.get("pending_user") is not None:
                return redirect(url_for("auth.two_step_code"), code=303)
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")), code=303)
        if must_enrol(g.user) and not session.get(SIGNED_IN_WITH):
            return redirect(url_for("auth.two_step_setup"), code=303)
        return view(**kwargs)

    wrapped.login_required = True
    return wrapped


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign a member of the study team in: the password, then a code if they need one."""
    form = SignInForm()
    failed = False
    if not current_app.config["PASSWORD_SIGN_IN"]:
        form = None  # single sign-on only: the password form is neither shown nor taken
    elif form.validate_on_submit():
        db = get_session()
        user = accounts.authenticate(
            db,
            email=form.email.data,
            password=form.password.data,
            now=now(),
            address=request.remote_addr or "",
            two_step=requirement(),
        )
        if user is not None:
            db.commit()
            target = _safe_next(request.args.get("next"))
            if two_step.is_asked(user, requirement()):
                session.clear()
                session[PENDING_USER] = user.id
                session[SESSION_VERSION] = user.session_version
                session[PENDING_AT] = now().isoformat()
                session[PENDING_NEXT] = target
                endpoint = ".two_step_code" if user.has_two_step else ".two_step_setup"
                return redirect(url_for(endpoint), code=303)
            _start_session(user)
            return redirect(target, code=303)
        db.commit()  # the refused attempt stays in the audit log
        failed = True
    if form is None:
        status = 405 if request.method == "POST" else 200
    else:
        status = 422 if form.errors or failed else 200
    return render_template(
        "auth/login.html", form=form, failed=failed, providers=sso_views.providers()
    ), status


def requirement() -> str:
    """The REQUIRE_TWO_STEP setting: ``managers`` (administrators and programme managers)
    or ``all``."""
    return current_app.config["REQUIRE_TWO_STEP"]


def must_enrol(user: User) -> bool:
    return not user.has_two_step and two_step.is_required(user, requirement())


def _start_session(user: User) -> None:
    """Sign ``user`` in: a new session, so nothing from before signing in is kept."""
    session.clear()
    session["user_id"] = user.id
    session[SESSION_VERSION] = user.session_version
    session[SIGNED_IN_AT] = session[LAST_ACTIVE] = session[CONFIRMED_AT] = now().isoformat()
    session.permanent = True


def _finish_pending_sign_in(user: User, summary: str) -> str:
    """The second step is done: sign in, audit it; return where to go next."""
    target = _safe_next(session.get(PENDING_NEXT))
    user.last_signed_in_at = now()
    audit.record(
        get_session(),
        action="sign_in",
        summary=summary,
        actor=user,
        address=request.remote_addr or "",
        now=now(),
    )
    _start_session(user)
    return target


@bp.route("/two-step", methods=["GET", "POST"])
def two_step_code():
    """The second step of signing in: a code from the app, or a recovery code."""
    user = g.pending_user
    if user is None:
        return redirect(url_for(".login"), code=303)
    if not user.has_two_step:
        return redirect(url_for(".two_step_setup"), code=303)
    form = CodeForm()
    failed = False
    if form.validate_on_submit():
        db = get_session()
        accepted = two_step.check_any_code(db, user, form.code.data, now())
        if accepted is not None:
            kind, left = accepted
            if kind == "recovery":
                target = _finish_pending_sign_in(
                    user, f"Signed in with a recovery code; {left} left"
                )
                audit.record(
                    db,
                    action="two_step.recovery_code",
                    summary=f"Recovery code used; {left} left",
                    actor=user,
                    now=now(),
                )
                flash(_recovery_left_message(left), "info")
            else:
                target = _finish_pending_sign_in(user, "Signed in with two-step verification")
            db.commit()
            return redirect(target, code=303)
        audit.record(
            db,
            action="two_step.failed",
            summary="Two-step verification refused: wrong or used code",
            actor=None,
            actor_label=user.email,
            address=request.remote_addr or "",
            now=now(),
        )
        db.commit()
        failed = True
    status = 422 if form.errors or failed else 200
    return render_template("auth/two_step_code.html", form=form, failed=failed), status


def _recovery_left_message(left: int) -> str:
    codes = f"{left} recovery code{'s' if left != 1 else ''}"
    if left == 0:
        return (
            "You have used your last recovery code. Ask an administrator to reset your "
            "two-step verification if you lose your phone."
        )
    return f"You signed in with a recovery code. You have {codes} left; each works once."


@bp.route("/two-step/set-up", methods=["GET", "POST"])
def two_step_setup():
    """Set up two-step verification: a QR code and the secret as text, then a first code."""
    user = g.user or g.pending_user
    if user is None:
        return redirect(url_for(".login", next=request.full_path.rstrip("?")), code=303)
    if user.has_two_step:
        if g.user is None:
            return redirect(url_for(".two_step_code"), code=303)
        flash("Two-step verification is already set up for your account.", "info")
        return redirect(url_for(".account"), code=303)
    db = get_session()
    form = EnrolForm()
    if user.totp_secret is None:
        two_step.start_enrolment(db, user)
        db.commit()
    failed = False
    if form.validate_on_submit():
        codes = two_step.confirm_enrolment(db, user, form.code.data, now())
        if codes is not None:
            audit.record(
                db,
                action="two_step.enrol",
                summary="Two-step verification set up",
                actor=user,
                now=now(),
            )
            if g.user is None:
                target = _finish_pending_sign_in(user, "Signed in; two-step verification set up")
            else:
                target = _safe_next(None)
                session[CONFIRMED_AT] = now().isoformat()
            db.commit()
            # Shown in this answer only: the codes are never kept, so a reload cannot show them.
            return render_template("auth/recovery_codes.html", codes=codes, target=target)
        db.commit()
        failed = True
    link = two_step.app_link(user, current_app.config["TWO_STEP_ISSUER"])
    status = 422 if form.errors or failed else 200
    return render_template(
        "auth/two_step_setup.html",
        form=form,
        failed=failed,
        qr_code=two_step.qr_code_svg(link),
        secret=two_step.grouped(user.totp_secret),
        required=two_step.is_required(user, requirement()),
    ), status


@bp.get("/account")
@login_required
def account():
    """Your own sign-in: whether two-step verification is on, recovery codes left."""
    left = two_step.recovery_codes_left(get_session(), g.user) if g.user.has_two_step else 0
    return render_template(
        "auth/account.html",
        left=left,
        required=two_step.is_required(g.user, requirement()),
        form=CodeForm(),
    )


@bp.post("/two-step/reset")
@login_required
def two_step_reset_own():
    """Start your own two-step verification again (a new phone): only with a current code."""
    form = CodeForm()
    db = get_session()
    user = g.user
    if form.validate_on_submit() and user.has_two_step:
        if two_step.check_any_code(db, user, form.code.data, now()) is not None:
            two_step.reset(db, user)
            audit.record(
                db,
                action="two_step.reset",
                summary=f"{user.email} reset their own two-step verification with a code",
                actor=user,
                object_type="user",
                object_id=user.id,
                now=now(),
            )
            db.commit()
            session.clear()
            flash("Two-step verification was reset. Sign in again to set it up on your new app.")
            return redirect(url_for(".login"), code=303)
        form.code.errors.append("The code is not right, or was used already")
        db.commit()
    left = two_step.recovery_codes_left(db, user) if user.has_two_step else 0
    return render_template(
        "auth/account.html",
        left=left,
        required=two_step.is_required(user, requirement()),
        form=form,
    ), 422


def recently_confirmed() -> bool:
    """Whether the signed-in person gave their password (or a code) within STEP_UP_MINUTES."""
    try:
        confirmed = datetime.fromisoformat(session[CONFIRMED_AT])
    except (KeyError, TypeError, ValueError):
        return False
    return now() - confirmed < timedelta(minutes=current_app.config["STEP_UP_MINUTES"])


def ask_for_password_again(return_to: str):
    """None when the person confirmed who they are lately; else the page that asks, which
    then goes back to ``return_to`` (a page of this site, asked for with GET)."""
    if recently_confirmed():
        return None
    flash("For this, enter your password again: you signed in a while ago.", "info")
    return redirect(url_for("auth.confirm_password", next=return_to), code=303)


@bp.route("/confirm", methods=["GET", "POST"])
@login_required
def confirm_password():
    """Step-up: the password again before a full export, an erasure or a role change."""
    form = ConfirmPasswordForm()
    failed = False
    if current_app.config["PASSWORD_SIGN_IN"] and form.validate_on_submit():
        db = get_session()
        if accounts.check_password(g.user, form.password.data):
            session[CONFIRMED_AT] = now().isoformat()
            audit.record(
                db,
                action="sign_in.confirm",
                summary="Password given again for a protected action",
                actor=g.user,
                address=request.remote_addr or "",
                now=now(),
            )
            db.commit()
            return redirect(_safe_next(request.args.get("next")), code=303)
        audit.record(
            db,
            action="sign_in_failed",
            summary="Password given again was wrong",
            actor=g.user,
            address=request.remote_addr or "",
            now=now(),
        )
        db.commit()
        failed = True
    status = 422 if form.errors or failed else 200
    minutes = current_app.config["STEP_UP_MINUTES"]
    return render_template(
        "auth/confirm_password.html",
        form=form if current_app.config["PASSWORD_SIGN_IN"] else None,
        failed=failed,
        minutes=minutes,
        providers=sso_views.step_up_providers(g.user),
    ), status


def end_other_sessions(user: User) -> None:
    """End every session of ``user`` (a copied cookie too) but this request's own, if theirs."""
    user.session_version += 1
    get_session().flush()
    if g.get("user") is not None and g.user.id == user.id:
        session[SESSION_VERSION] = user.session_version


@bp.post("/logout")
def logout():
    """Sign out and forget the session."""
    if g.user is not None:
        db = get_session()
        audit.record(db, action="sign_out", summary="Signed out", actor=g.user, now=now())
        g.user.session_version += 1  # every copy of this session's cookie stops working
        db.commit()
    session.clear()
    flash("You have signed out.")
    return redirect(url_for("auth.login"), code=303)


@bp.get("/session-status")
def session_status():
    """How long the staff session has left; asking does not count as activity."""
    if g.user is None:
        return jsonify(signed_in=False, remaining=0)
    return jsonify(signed_in=True, remaining=seconds_left())


@bp.post("/keep-alive")
def keep_alive():
    """Stay signed in: this request counts as activity, like any other that is not polling.

    app.js asks for JSON; without JavaScript the button is a plain form and the
    staff member goes back to the page they were on.
    """
    wants_json = request.accept_mimetypes.best == "application/json"
    if g.user is None:
        if wants_json:
            return jsonify(signed_in=False, remaining=0), 401
        return redirect(url_for(".login", next=_safe_next(request.form.get("next"))), code=303)
    if wants_json:
        return jsonify(signed_in=True, remaining=seconds_left())
    return redirect(_safe_next(request.form.get("next")), code=303)


def _safe_next(target: str | None) -> str:
    # Only a path on this site: an absolute or protocol-relative URL could send a user elsewhere.
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and "\\" not in target:
            return target
    return url_for("people.index")


# Routes of this blueprint kept in their own modules, to keep this one readable.
from surveyapp.auth import reset_views, sso_views  # noqa: E402, F401
