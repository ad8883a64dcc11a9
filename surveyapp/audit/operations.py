"""The audit trail: who changed what, when, and which objects (Flask-free).

Rows are only ever added; the database refuses updates and deletes. A summary
names objects by their number or label and never holds an answer, a token, a
password or an email of a participant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from surveyapp.models import AuditEvent, User
from surveyapp.text import csv_text

#: Every action the log records, with the words the search page shows.
ACTIONS = {
    "sign_in": "Signed in",
    "sign_in_failed": "Sign-in refused",
    "sign_out": "Signed out",
    "sign_out.others": "Signed out everywhere else",
    "sign_out.one": "Signed out of one other browser",
    "password.reset_asked": "Password reset link asked for",
    "password.reset": "Password changed with an emailed link",
    "password.reset_sent": "Password reset link sent by an administrator",
    "sign_in.password": "Password accepted, code asked",
    "sign_in.confirm": "Password given again, or signed in again with the provider",
    "sign_in.link": "Account linked to a single sign-on identity",
    "two_step.enrol": "Two-step verification set up",
    "two_step.failed": "Two-step code refused",
    "two_step.recovery_code": "Recovery code used",
    "two_step.reset": "Two-step verification reset",
    "user.create": "Staff account created",
    "user.change": "Role, access or account changed",
    "programme.create": "Programme created",
    "programme.change": "Programme details changed",
    "questionnaire.load": "Questionnaire version loaded",
    "questionnaire.upload": "Questionnaire version stored from an uploaded file",
    "questionnaire.upload_refused": "Uploaded questionnaire file refused",
    "questionnaire.edit": "Questionnaire version stored from the editor",
    "questionnaire.edit_refused": "Questionnaire text in the editor refused",
    "cohort.import": "Cohort imported",
    "participant.change": "Participant details changed",
    "participant.withdraw": "Participant withdrawn",
    "participant.subject_access": "Subject access export downloaded",
    "participant.erase": "Participant erased",
    "retention.apply": "Contact details removed after the retention date",
    "wave.create": "Wave created",
    "wave.change": "Wave changed",
    "wave.close": "Wave closed",
    "evaluation_rule.change": "Evaluation after each session set, changed or stopped",
    "dose_bands.change": "Attendance and mentoring bands set",
    "response.reopen": "Response reopened",
    "reminders.plan": "Reminder plan or email changed",
    "reminders.send": "Reminders sent",
    "reminders.test": "Test email sent to staff",
    "message.send_again": "Email that may have been sent queued again",
    "message.mark_sent": "Email that may have been sent marked as sent",
    "export.download": "Data downloaded",
    "session.plan": "Session created, changed or deleted",
    "session.import": "Sessions imported",
    "register.change": "Register kept",
    "attendance.import": "Attendance imported",
}
PER_PAGE = 50


def person(participant) -> str:
    """How the log names a participant: by row number, never by ID number or name, so
    that nothing in this append-only log outlives their erasure."""
    return f"participant no. {participant.id}"


def record(
    session: Session,
    *,
    action: str,
    summary: str,
    now: datetime,
    actor: User | None = None,
    actor_label: str = "",
    programme_id: int | None = None,
    object_type: str = "",
    object_id: object = "",
    address: str = "",
) -> AuditEvent:
    """Add one event to the session; it is written with the change it describes.

    :param actor_label: who acted when there is no user (a command from cron, or
        the email typed at a refused sign-in).
    """
    if action not in ACTIONS:
        raise KeyError(action)
    event = AuditEvent(
        at=now,
        actor_id=actor.id if actor is not None else None,
        actor=actor.email if actor is not None else (actor_label or "command line"),
        action=action,
        summary=summary[:2000],
        programme_id=programme_id,
        object_type=object_type,
        object_id=str(object_id)[:64] if object_id != "" else "",
        address=address[:64],
    )
    session.add(event)
    return event


@dataclass(frozen=True)
class Filters:
    text: str = ""
    action: str = ""
    programme_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass
class EventPage:
    items: list[AuditEvent]
    total: int
    page: int
    pages: int


def _conditions(filters: Filters) -> list:
    conditions = []
    if filters.text:
        like = f"%{filters.text.strip().lower()}%"
        conditions.append(
            or_(func.lower(AuditEvent.summary).like(like), func.lower(AuditEvent.actor).like(like))
        )
    if filters.action:
        conditions.append(AuditEvent.action == filters.action)
    if filters.programme_id is not None:
        conditions.append(AuditEvent.programme_id == filters.programme_id)
    if filters.since is not None:
        conditions.append(AuditEvent.at >= filters.since)
    if filters.until is not None:
        conditions.append(AuditEvent.at < filters.until)
    return conditions


def search(session: Session, filters: Filters, *, page: int = 1) -> EventPage:
    """One page of events, newest first."""
    conditions = _conditions(filters)
    total = session.scalar(select(func.count(AuditEvent.id)).where(*conditions)) or 0
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(max(1, page), pages)
    items = session.scalars(
        select(AuditEvent)
        .where(*conditions)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    ).all()
    return EventPage(items=list(items), total=total, page=page, pages=pages)


CSV_HEADINGS = [
    "When (UTC)",
    "Who",
    "Action",
    "What",
    "Programme",
    "Object",
    "Object number",
    "Address",
]


def as_csv(session: Session, filters: Filters) -> str:
    """Every matching event, oldest first, as CSV text (formula-neutralised)."""
    rows = (
        [
            event.at.strftime("%Y-%m-%d %H:%M:%S"),
            event.actor,
            ACTIONS.get(event.action, event.action),
            event.summary,
            "" if event.programme_id is None else str(event.programme_id),
            event.object_type,
            event.object_id,
            event.address,
        ]
        for event in session.scalars(
            select(AuditEvent).where(*_conditions(filters)).order_by(AuditEvent.at, AuditEvent.id)
        )
    )
    return csv_text(CSV_HEADINGS, rows)
