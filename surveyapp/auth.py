"""Staff sign-in and sign-out; ``login_required`` guards every admin page."""

import functools
from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import InputRequired

from surveyapp import accounts
from surveyapp.db import get_session
from surveyapp.models import User
from surveyapp.web.context import now

bp = Blueprint("auth", __name__, url_prefix="/auth")


class SignInForm(FlaskForm):
    email = EmailField("Email address", validators=[InputRequired("Enter your email address")])
    password = PasswordField("Password", validators=[InputRequired("Enter your password")])


@bp.before_app_request
def load_signed_in_user() -> None:
    user_id = session.get("user_id")
    g.user = get_session().get(User, user_id) if user_id is not None else None
    if g.user is not None and not g.user.is_active:
        session.clear()
        g.user = None


def login_required(view):
    """Send anyone not signed in to the sign-in page, and back here afterwards."""

    @functools.wraps(view)
    def wrapped(**kwargs):
        if g.get("user") is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")), code=303)
        return view(**kwargs)

    wrapped.login_required = True
    return wrapped


def role_required(*roles: str):
    """Allow only signed-in users with one of ``roles`` (administrators always)."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(**kwargs):
            if g.user.role != "admin" and g.user.role not in roles:
                from flask import abort

                abort(403)
            return view(**kwargs)

        return login_required(wrapped)

    return decorator


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign a member of the study team in."""
    form = SignInForm()
    failed = False
    if form.validate_on_submit():
        db = get_session()
        user = accounts.authenticate(
            db, email=form.email.data, password=form.password.data, now=now()
        )
        if user is not None:
            db.commit()
            session.clear()
            session["user_id"] = user.id
            session.permanent = True
            return redirect(_safe_next(request.args.get("next")), code=303)
        failed = True
    status = 422 if form.errors or failed else 200
    return render_template("auth/login.html", form=form, failed=failed), status


@bp.post("/logout")
def logout():
    """Sign out and forget the session."""
    session.clear()
    flash("You have signed out.")
    return redirect(url_for("auth.login"), code=303)


def _safe_next(target: str | None) -> str:
    # Only a path on this site: an absolute or protocol-relative URL could send a user elsewhere.
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and "\\" not in target:
            return target
    return url_for("admin.index")
