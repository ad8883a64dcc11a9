"""Your own sessions: each browser or device signed in as you, and signing one of them out.

The rows themselves are in :mod:`surveyapp.account.operations`. Two hooks keep them: after each
request a browser that has just signed in gets its row (and key), one that signed out or
timed out has its row ended, and a signed-in one is noted as seen; before each request a
browser whose row was ended elsewhere is signed out.
"""

from datetime import timedelta

from flask import Blueprint, abort, current_app, flash, g, redirect, request, session, url_for

from surveyapp.account import operations as devices
from surveyapp.audit import operations as audit
from surveyapp.db import get_session
from surveyapp.models import StaffSession, User
from surveyapp.web.context import now
from surveyapp.web.filters import local_time
from surveyapp.web.forms import ActionForm
from surveyapp.web.permissions import end_other_sessions, login_required

bp = Blueprint("account", __name__, url_prefix="/auth", template_folder="templates")
#: The session cookie's key to this browser's row.
DEVICE = "device_key"
#: Where the auth area keeps the account's session version in the cookie.
SESSION_VERSION = "session_version"


def idle_limit() -> timedelta:
    """Staff are signed out after this long idle: their older rows are not shown."""
    return timedelta(minutes=current_app.config["STAFF_IDLE_MINUTES"])


@bp.before_app_request
def sign_out_an_ended_browser() -> None:
    """Runs after ``auth.load_signed_in_user``: a browser signed out elsewhere stops here."""
    g.device = None
    g.device_key_at_start = session.get(DEVICE)
    if request.endpoint == "static" or g.get("user") is None or g.device_key_at_start is None:
        return
    row = devices.find(get_session(), g.device_key_at_start)
    if not devices.is_live(row, g.user):
        session.clear()
        g.user = None
        flash("You were signed out of this browser from another one.", "info")
        return
    g.device = row


@bp.after_app_request
def keep_the_row(response):
    if request.endpoint == "static":
        return response
    db = get_session()
    started_with, key = g.get("device_key_at_start"), session.get(DEVICE)
    user_id = session.get("user_id")
    changed = False
    if started_with and started_with != key or started_with and user_id is None:
        row = devices.find(db, started_with)  # signed out, timed out or signed in afresh
        if row is not None and row.ended_at is None:
            devices.end(row, now())
            changed = True
        session.pop(DEVICE, None)
        key = None
    user = db.get(User, user_id) if user_id is not None else None
    if user is not None and key is None:  # just signed in (or before rows were kept)
        session[DEVICE] = devices.begin(db, user, request.user_agent.string, now())
        changed = True
    elif user is not None and g.get("device") is not None:
        if session.get(SESSION_VERSION) == user.session_version:
            before = (g.device.session_version, g.device.last_seen_at)
            devices.touch(g.device, user, now())
            changed = changed or before != (g.device.session_version, g.device.last_seen_at)
    if changed:
        db.commit()
    return response


@bp.app_template_global("my_sessions")
def my_sessions() -> list[dict]:
    """For *Your account*: each browser signed in as you, this one marked."""
    current = g.device.id if g.get("device") is not None else None
    rows = devices.live_of(get_session(), g.user, since=now() - idle_limit())
    return [
        {
            "id": row.id,
            "browser": devices.describe(row.user_agent),
            "signed_in_at": row.signed_in_at,
            "last_seen_at": row.last_seen_at,
            "current": row.id == current,
        }
        for row in sorted(rows, key=lambda row: row.id != current)
    ]


@bp.post("/sessions/<int:row_id>/end")
@login_required
def session_end(row_id: int):
    """Sign out one other browser or device signed in as you."""
    if not ActionForm().validate_on_submit():
        abort(400)
    db = get_session()
    row = db.get(StaffSession, row_id)
    if not devices.is_live(row, g.user):
        flash("That browser is already signed out.", "info")
        return redirect(url_for("auth.account"), code=303)
    if g.device is not None and row.id == g.device.id:
        flash("This is the browser you are using: to leave it, choose Sign out.", "error")
        return redirect(url_for("auth.account"), code=303)
    browser = devices.describe(row.user_agent)
    devices.end(row, now())
    audit.record(
        db,
        action="sign_out.one",
        summary=f"Signed out of {browser}, signed in {local_time(row.signed_in_at)}",
        actor=g.user,
        now=now(),
    )
    db.commit()
    flash(f"{browser}, signed in {local_time(row.signed_in_at)}, is signed out.")
    return redirect(url_for("auth.account"), code=303)


@bp.post("/sessions/end-others")
@login_required
def sessions_end_others():
    """Sign out everywhere else: every other browser or device signed in as you."""
    db = get_session()
    end_other_sessions(g.user)
    if g.device is not None:
        devices.end_all_of(db, g.user, now(), but=g.device.id)
    audit.record(
        db, action="sign_out.others", summary="Signed out everywhere else", actor=g.user, now=now()
    )
    db.commit()
    flash("You are signed out everywhere else. This browser stays signed in.")
    return redirect(url_for("auth.account"), code=303)
