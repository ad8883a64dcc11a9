"""The audit log is append-only in the database: no update, no delete, no TRUNCATE."""

import pytest
from sqlalchemy import func, select, text

from surveyapp.audit import operations as audit
from surveyapp.audit.models import AuditEvent
from tests.conftest import NOW


def test_truncate_cannot_empty_the_audit_log(session):
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE; its DELETE is refused by the row trigger")
    audit.record(session, action="sign_in", summary="Signed in", actor_label="a", now=NOW)
    session.commit()

    with pytest.raises(Exception, match="append-only"):
        session.execute(text("TRUNCATE audit_events"))
    session.rollback()

    assert session.scalar(select(func.count(AuditEvent.id))) == 1
