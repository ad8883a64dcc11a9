"""audit log refuses TRUNCATE on PostgreSQL

The audit log already refuses UPDATE and DELETE with a row trigger on each engine
(revision 109c4ecf8be2). On PostgreSQL, TRUNCATE empties a table without firing row
triggers, so it is refused by a statement trigger calling the same function. SQLite has
no TRUNCATE (its "DELETE FROM" without WHERE fires the row trigger, which refuses it), so
nothing changes there.

Downgrade drops the TRUNCATE trigger; the UPDATE and DELETE refusal stays.

Revision ID: 5b7e2d9c41aa
Revises: c16dbf16494d
Create Date: 2026-12-07 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5b7e2d9c41aa"
down_revision: str | Sequence[str] | None = "c16dbf16494d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events")
