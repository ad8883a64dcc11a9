"""The audit log: search it by who, what and when, and download it as CSV."""

from datetime import time, timedelta

from flask import (
    Blueprint,
    Response,
    current_app,
    render_template,
    request,
)
from sqlalchemy import func, select

from surveyapp.audit import operations as audit
from surveyapp.audit.forms import AuditSearchForm
from surveyapp.db import get_session
from surveyapp.models import AuditEvent
from surveyapp.timezones import to_utc
from surveyapp.web.context import now
from surveyapp.web.permissions import id_arg, requires

bp = Blueprint("audit", __name__, url_prefix="/admin", template_folder="templates")


def _audit_filters(form: AuditSearchForm) -> audit.Filters:
    zone = current_app.config["STUDY_TIMEZONE"]
    since = to_utc(form.since.data, time(0, 0), zone) if form.since.data else None
    until = (
        to_utc(form.until.data + timedelta(days=1), time(0, 0), zone) if form.until.data else None
    )
    return audit.Filters(
        text="" if form.q.errors else (form.q.data or "").strip(),
        action=form.action.data if form.action.data in audit.ACTIONS else "",
        programme_id=id_arg("programme"),
        since=since,
        until=until,
    )


def _audit_form() -> AuditSearchForm:
    form = AuditSearchForm(request.args)
    form.action.choices = [("", "Any action")] + list(audit.ACTIONS.items())
    return form


@bp.get("/audit")
@requires("read_audit_log")
def audit_log():
    """Search the audit log, newest first, 50 to a page."""
    form = _audit_form()
    form.validate()
    db = get_session()
    found = audit.search(db, _audit_filters(form), page=request.args.get("page", 1, type=int))
    total_ever = db.scalar(select(func.count(AuditEvent.id)))
    args = {key: value for key, value in request.args.items() if key != "page" and value}
    return render_template(
        "audit/audit_log.html",
        form=form,
        found=found,
        args=args,
        actions=audit.ACTIONS,
        total_ever=total_ever,
    )


@bp.get("/audit.csv")
@requires("read_audit_log")
def audit_csv():
    """Download the events the search finds, oldest first."""
    form = _audit_form()
    form.validate()
    stamp = now().strftime("%Y%m%d-%H%M")
    return Response(
        "\ufeff" + audit.as_csv(get_session(), _audit_filters(form)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="audit-log-{stamp}.csv"'},
    )
