"""Staff sign-in and sign-out; ``login_required`` guards every admin page.

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
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import InputRequired

from surveyapp.audit import operations as audit
from surveyapp.db import get_session
from surveyapp.models import User
from surveyapp.staff import operations as accounts
from surveyapp.web.context import now

bp = Blueprint("auth", __name__, url_prefix="/auth", template_folder="templates")
LAST_ACTIVE = "last_active"
SIGNED_IN_AT = "signed_in_at"
SESSION_VERSION = "session_version"
#: Sent by app.js on requests the page makes by itself (htmx polling).
BACKGROUND_HEADER = "X-Surveyapp-Background"


class SignInForm(FlaskForm):
    email = EmailField("Email address", validators=[InputRequired("Enter your email address")])
    password = PasswordField("Password", validators=[InputRequired("Enter your password")])


@bp.before_app_request
def load_signed_in_user() -> None:
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
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")), code=303)
        return view(**kwargs)

    wrapped.login_required = True
    return wrapped


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign a member of the study team in."""
    form = SignInForm()
    failed = False
    if form.validate_on_submit():
        db = get_session()
        user = accounts.authenticate(
            db,
            email=form.email.data,
            password=form.password.data,
            now=now(),
            address=request.remote_addr or "",
        )
        if user is not None:
            db.commit()
            session.clear()
            session["user_id"] = user.id
            session[SESSION_VERSION] = user.session_version
            session[SIGNED_IN_AT] = session[LAST_ACTIVE] = now().isoformat()
            session.permanent = True
            return redirect(_safe_next(request.args.get("next")), code=303)
        db.commit()  # the refused attempt stays in the audit log
        failed = True
    status = 422 if form.errors or failed else 200
    return render_template("auth/login.html", form=form, failed=failed), status


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
