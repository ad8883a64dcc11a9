"""The audit trail: append-only in the database itself."""

from datetime import datetime

from sqlalchemy import DDL, ForeignKey, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from surveyapp.db import Base


class AuditEvent(Base):
    """One change a staff user (or a scheduled command) made: append-only.

    Who, when, what and which objects; never answers, tokens or passwords.
    The database refuses to update or delete a row (a trigger on each engine), and on
    PostgreSQL to empty the table with TRUNCATE (SQLite has no TRUNCATE).
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    #: NULL for a command run from cron; the email is kept as it was at the time.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(320))
    #: A dotted name from ``surveyapp.audit.ACTIONS``, e.g. "cohort.import".
    action: Mapped[str] = mapped_column(String(60), index=True)
    summary: Mapped[str] = mapped_column(Text)
    programme_id: Mapped[int | None] = mapped_column(index=True)
    object_type: Mapped[str] = mapped_column(String(40), default="")
    object_id: Mapped[str] = mapped_column(String(64), default="")
    #: The requester's address for sign-in events; empty for commands.
    address: Mapped[str] = mapped_column(String(64), default="")


APPEND_ONLY_TRIGGERS = {
    "sqlite": [
        "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
        "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION audit_events_refuse() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$",
        "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_events_refuse()",
        # TRUNCATE fires no row trigger: it is refused by a statement trigger of its own.
        "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse()",
    ],
}
DROP_APPEND_ONLY = {
    "postgresql": ["DROP FUNCTION IF EXISTS audit_events_refuse() CASCADE"],
}
for _dialect, _statements in APPEND_ONLY_TRIGGERS.items():
    for _statement in _statements:
        event.listen(
            AuditEvent.__table__, "after_create", DDL(_statement).execute_if(dialect=_dialect)
        )
for _dialect, _statements in DROP_APPEND_ONLY.items():
    for _statement in _statements:
        event.listen(
            AuditEvent.__table__, "after_drop", DDL(_statement).execute_if(dialect=_dialect)
        )
