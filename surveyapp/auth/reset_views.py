"""Forgotten passwords: a single-use link by email, valid for an hour, the same answer
whether or not the address is known. Routes of the ``auth`` blueprint."""

from flask import current_app, flash, redirect, render_template, request, session, url_for

from surveyapp.audit import operations as audit
from surveyapp.auth import password_reset as resets
from surveyapp.auth.forms import ForgotPasswordForm, NewPasswordForm
from surveyapp.auth.views import bp
from surveyapp.db import get_session
from surveyapp.models import User
from surveyapp.staff import operations as accounts
from surveyapp.web.context import now


@bp.route("/forgot-password", methods=["GET", "POST"])
def password_forgot():
    """Ask for a link to choose a new password; the answer is the same for any address."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        db = get_session()
        started = resets.start(db, form.email.data, now())
        if started is None:
            audit.record(
                db,
                action="password.reset_asked",
                summary="Password reset asked for an address with no account that can sign in",
                actor=None,
                actor_label="(no such account)",
                address=request.remote_addr or "",
                now=now(),
            )
        else:
            user, token = started
            problem = _send_reset_link(user, token)
            audit.record(
                db,
                action="password.reset_asked",
                summary="Password reset link "
                + (f"not sent: {problem}" if problem else "sent by email"),
                actor=user,
                address=request.remote_addr or "",
                now=now(),
            )
        db.commit()
        return redirect(url_for(".password_forgot_sent"), code=303)
    status = 422 if form.errors else 200
    return render_template("auth/password_forgot.html", form=form), status


def _send_reset_link(user: User, token: str) -> str:
    """Email the link (from BASE_URL, never the request's Host); "" when sent, else why not."""
    link = f"{current_app.config['BASE_URL'].rstrip('/')}{url_for('.password_reset', token=token)}"
    return resets.send_link(current_app.config, user, link)


@bp.get("/forgot-password/sent")
def password_forgot_sent():
    return render_template("auth/password_forgot_sent.html")


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def password_reset(token: str):
    """Choose a new password from the link in the email: once, within the hour."""
    db = get_session()
    reset = resets.find(db, token, now())
    if reset is None:
        return render_template("auth/password_reset_gone.html"), 404
    form = NewPasswordForm()
    if form.validate_on_submit():
        if form.password.data != form.again.data:
            form.again.errors.append("Enter the same new password twice")
        else:
            try:
                user = resets.finish(db, reset, form.password.data, now())
            except accounts.AccountProblem as problem:
                form.password.errors.append(str(problem))
            else:
                audit.record(
                    db,
                    action="password.reset",
                    summary="Password changed with an emailed link; every session ended",
                    actor=user,
                    address=request.remote_addr or "",
                    now=now(),
                )
                db.commit()
                session.clear()
                flash("Your password has been changed. Sign in with it.")
                return redirect(url_for(".login"), code=303)
    status = 422 if form.errors else 200
    return render_template("auth/password_reset.html", form=form), status
