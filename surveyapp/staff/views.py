"""Administrators' pages: staff accounts, their role and programmes."""

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

from surveyapp.audit import operations as audit
from surveyapp.auth import password_reset as resets
from surveyapp.auth import two_step
from surveyapp.db import get_session
from surveyapp.models import Programme, User
from surveyapp.staff import access
from surveyapp.staff import operations as accounts
from surveyapp.staff.forms import NewUserForm, UserForm
from surveyapp.web.context import now
from surveyapp.web.forms import ActionForm
from surveyapp.web.permissions import ask_for_password_again, end_other_sessions, requires

bp = Blueprint("staff", __name__, url_prefix="/admin", template_folder="templates")


def _programme_choices(form: UserForm) -> list[Programme]:
    programmes = get_session().scalars(select(Programme).order_by(Programme.name)).all()
    form.programmes.choices = [(programme.id, programme.name) for programme in programmes]
    return programmes


@bp.get("/users")
@requires("manage_users")
def user_list():
    """List the staff accounts with their role and programmes."""
    db = get_session()
    users = db.scalars(select(User).order_by(User.email)).all()
    members = {
        user.id: sorted(
            db.scalars(access.visible_programmes(user).with_only_columns(Programme.name)).all()
        )
        for user in users
        if not access.sees_every_programme(user)
    }
    return render_template("staff/user_list.html", users=users, members=members)


def _save_access(user: User, form: UserForm, *, creating: bool) -> str | None:
    """Apply role, programmes and sign-in from the form; the audit summary, or None if refused."""
    db = get_session()
    me = g.user
    changes = []
    if user.id == me.id and (form.role.data != user.role or not form.is_active.data):
        form.role.errors.append("You cannot change your own role or stop yourself signing in")
        return None
    ends_sessions = False
    if user.role != form.role.data:
        if not creating:
            changes.append(f"role {user.role} → {form.role.data}")
            ends_sessions = True
        user.role = form.role.data
    if user.is_active != bool(form.is_active.data):
        changes.append("can sign in" if form.is_active.data else "can no longer sign in")
        user.is_active = bool(form.is_active.data)
    try:
        added, removed = access.set_membership(db, user, set(form.programmes.data or []))
    except access.AccessProblem as problem:
        form.programmes.errors.append(str(problem))
        return None
    names = dict(db.execute(select(Programme.id, Programme.name)).all())
    changes += [f"may see {names[number]}" for number in sorted(added)]
    changes += [f"may no longer see {names[number]}" for number in sorted(removed)]
    if form.new_password.data:
        try:
            accounts.set_password(db, user, form.new_password.data)
        except accounts.AccountProblem as problem:
            form.new_password.errors.append(str(problem))
            return None
        changes.append("password set")
        ends_sessions = not creating
    if ends_sessions:
        end_other_sessions(user)
        changes.append("signed out everywhere")
    return "; ".join(changes)


@bp.route("/users/new", methods=["GET", "POST"])
@requires("manage_users")
def user_new():
    """Create a staff account with a role and the programmes it may see."""
    form = NewUserForm()
    if request.method == "GET":
        form.is_active.data = True
    _programme_choices(form)
    if form.validate_on_submit():
        db = get_session()
        try:
            user = accounts.create_user(
                db,
                email=form.email.data,
                password=form.password.data,
                role=form.role.data,
                now=now(),
            )
        except accounts.AccountProblem as problem:
            field = form.password if "password" in str(problem) else form.email
            field.errors.append(str(problem))
        else:
            form.new_password.data = ""
            summary = _save_access(user, form, creating=True)
            if summary is not None:
                audit.record(
                    db,
                    action="user.create",
                    summary=f"Created {user.email} as {access.ROLE_NAMES[user.role]}"
                    + (f"; {summary}" if summary else ""),
                    actor=g.user,
                    object_type="user",
                    object_id=user.id,
                    now=now(),
                )
                db.commit()
                flash(f"Account created for {user.email}.")
                return redirect(url_for(".user_list"), code=303)
            db.rollback()
    status = 422 if form.errors else 200
    return render_template("staff/user_form.html", form=form, user=None), status


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@requires("manage_users")
def user_edit(user_id: int):
    """Change a staff account's role, programmes, sign-in or password."""
    db = get_session()
    user = db.get(User, user_id)
    if user is None:
        abort(404)
    form = UserForm(obj=user)
    if request.method == "GET":
        form.programmes.data = sorted(access.member_programme_ids(db, user))
    _programme_choices(form)
    if form.validate_on_submit():
        if form.role.data != user.role:
            back = url_for(".user_edit", user_id=user.id)
            if (asked := ask_for_password_again(back)) is not None:
                return asked  # nothing saved: they make the change again after the password
        summary = _save_access(user, form, creating=False)
        if summary is not None:
            if summary:
                audit.record(
                    db,
                    action="user.change",
                    summary=f"{user.email}: {summary}",
                    actor=g.user,
                    object_type="user",
                    object_id=user.id,
                    now=now(),
                )
            db.commit()
            flash(f"Changes to {user.email} saved." if summary else "Nothing was changed.")
            return redirect(url_for(".user_list"), code=303)
        db.rollback()
    status = 422 if form.errors else 200
    return render_template("staff/user_form.html", form=form, user=user), status


@bp.post("/users/<int:user_id>/two-step/reset")
@requires("manage_users")
def user_two_step_reset(user_id: int):
    """Forget another person's authenticator app and recovery codes (a lost phone); they set
    it up again at their next sign-in. Never one's own: that needs a code, on Your account."""
    db = get_session()
    user = db.get(User, user_id)
    if user is None:
        abort(404)
    if user.id == g.user.id:
        flash(
            "You cannot reset your own two-step verification here. Use Your account, "
            "with a code from your app or a recovery code.",
            "error",
        )
        return redirect(url_for("auth.account"), code=303)
    if ActionForm().validate_on_submit() and user.has_two_step:
        two_step.reset(db, user)
        audit.record(
            db,
            action="two_step.reset",
            summary=f"{user.email}: two-step verification reset by an administrator",
            actor=g.user,
            object_type="user",
            object_id=user.id,
            now=now(),
        )
        db.commit()
        flash(
            f"Two-step verification reset for {user.email}. They set it up at their next sign-in."
        )
    return redirect(url_for(".user_edit", user_id=user.id), code=303)


@bp.post("/users/<int:user_id>/password-reset")
@requires("manage_users")
def user_password_reset(user_id: int):
    """Email another person a link to choose a new password: once, within the hour; using
    it ends every session of theirs. One's own: "Forgot your password?" on the sign-in page."""
    db = get_session()
    user = db.get(User, user_id)
    if user is None:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    back = redirect(url_for(".user_edit", user_id=user.id), code=303)
    if user.id == g.user.id:
        flash("To change your own password, use “Forgot your password?”.", "error")
        return back
    started = resets.start(db, user.email, now())
    if started is None:
        flash(f"No link sent: {user.email} cannot sign in (the account is turned off).", "error")
        return back
    _, token = started
    base = current_app.config["BASE_URL"].rstrip("/")
    link = f"{base}{url_for('auth.password_reset', token=token)}"
    problem = resets.send_link(current_app.config, user, link, by_administrator=True)
    if problem:
        db.rollback()  # no link is kept that nobody was sent
        flash(f"No link sent to {user.email}: {problem}.", "error")
        return back
    audit.record(
        db,
        action="password.reset_sent",
        summary=f"{user.email}: password reset link sent by an administrator",
        actor=g.user,
        object_type="user",
        object_id=user.id,
        now=now(),
    )
    db.commit()
    flash(
        f"A link to choose a new password was emailed to {user.email}. It works once, for an hour."
    )
    return back
