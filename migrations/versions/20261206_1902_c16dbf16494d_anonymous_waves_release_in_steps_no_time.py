"""anonymous waves: release in steps, no order, no time

Responses get ``release``: NULL while an anonymous wave holds a response back, then the
step it was released in. Existing responses stay visible: anonymous ones as step 1,
identified ones as 0 (released as sent, as new ones are).

Invitations get ``completed_on``, the day of completion, from ``completed_at``; then the
time is dropped in anonymous waves, which keep the day only (their completed invitations'
opening and starting times become midnight of their day). A time implies its day (check
constraint).

No order: on SQLite the responses and answers tables are made again ``WITHOUT ROWID``, so
rows are stored in the order of their random keys. PostgreSQL has no such option; there
both tables are rewritten in key order (``CLUSTER``), so the rows already held leave
their order of submission behind, and new held rows are rewritten at each submission.

Downgrade: the tables get their rowid back, held responses become visible (the old
schema cannot hold them back), and anonymous invitations get midnight of their day as
``completed_at``, so they still count as completed.

Revision ID: c16dbf16494d
Revises: e9bd3ac0df35
Create Date: 2026-12-06 19:02:08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c16dbf16494d"
down_revision: str | None = "e9bd3ac0df35"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ANONYMOUS_WAVES = "(SELECT id FROM waves WHERE privacy = 'anonymous')"
DAY_OF = {"sqlite": "date(completed_at)", "postgresql": "CAST(completed_at AS DATE)"}
#: Midnight of a time's day (NULL stays NULL).
MIDNIGHT_OF_TIME = {"sqlite": "datetime(date({}))", "postgresql": "date_trunc('day', {})"}
MIDNIGHT_OF = {"sqlite": "datetime(completed_on)", "postgresql": "CAST(completed_on AS TIMESTAMP)"}


def _dialect() -> str:
    return op.get_bind().dialect.name


def _refuse_sqlite_with_foreign_keys_on() -> None:
    """Remaking a table drops the old one, which with foreign keys on would delete answers."""
    if _dialect() == "sqlite" and op.get_bind().exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError(
            "Run this migration with SQLite foreign keys off (alembic upgrade does): "
            "remaking the responses table would otherwise delete every answer."
        )


def _remade(table: str, *, with_rowid: bool):
    """A batch that, on SQLite, makes the table again with or without its rowid."""
    sqlite = _dialect() == "sqlite"
    return op.batch_alter_table(
        table,
        schema=None,
        recreate="always" if sqlite else "auto",
        table_kwargs={"sqlite_with_rowid": with_rowid} if sqlite else {},
    )


def upgrade() -> None:
    _refuse_sqlite_with_foreign_keys_on()
    if _dialect() == "sqlite":
        op.execute("PRAGMA secure_delete=ON")  # the rows and times removed are overwritten
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("completed_on", sa.Date(), nullable=True))
    op.execute(f"UPDATE invitations SET completed_on = {DAY_OF[_dialect()]}")
    midnight = MIDNIGHT_OF_TIME[_dialect()]
    op.execute(
        "UPDATE invitations SET completed_at = NULL, "
        f"opened_at = {midnight.format('opened_at')}, "
        f"started_at = {midnight.format('started_at')} "
        f"WHERE completed_on IS NOT NULL AND wave_id IN {ANONYMOUS_WAVES}"
    )
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f("ck_invitations_completion_day"),
            "completed_at IS NULL OR completed_on IS NOT NULL",
        )

    with _remade("responses", with_rowid=False) as batch_op:
        batch_op.add_column(sa.Column("release", sa.Integer(), nullable=True))
    op.execute(
        f"UPDATE responses SET release = CASE WHEN wave_id IN {ANONYMOUS_WAVES} THEN 1 ELSE 0 END"
    )
    if _dialect() == "sqlite":
        with _remade("answers", with_rowid=False):
            pass
    else:
        op.execute("CLUSTER responses USING pk_responses")
        op.execute("CLUSTER answers USING pk_answers")


def downgrade() -> None:
    _refuse_sqlite_with_foreign_keys_on()
    if _dialect() == "sqlite":
        with _remade("answers", with_rowid=True):
            pass
    with _remade("responses", with_rowid=True) as batch_op:
        batch_op.drop_column("release")

    op.execute(
        f"UPDATE invitations SET completed_at = {MIDNIGHT_OF[_dialect()]} "
        "WHERE completed_at IS NULL AND completed_on IS NOT NULL"
    )
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_invitations_completion_day"), type_="check")
        batch_op.drop_column("completed_on")
