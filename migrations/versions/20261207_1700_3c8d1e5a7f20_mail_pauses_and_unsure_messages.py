"""the mail server's pause, and messages that may have been sent

A table holds the pause the mail server asked for (a 421 or another 4xx answer), so the
next scheduled run waits too; a message may now be "unsure": the connection was lost after
it was sent and before the server answered. Nothing held changes.

Revision ID: 3c8d1e5a7f20
Revises: 3c8e1f6a2b47
Create Date: 2026-12-07 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3c8d1e5a7f20"
down_revision: str | None = "3c8e1f6a2b47"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "state IN ('queued', 'sending', 'sent', 'failed', 'cancelled')"
NEW = "state IN ('queued', 'sending', 'sent', 'unsure', 'failed', 'cancelled')"


def upgrade() -> None:
    op.create_table(
        "mail_pauses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("until", sa.DateTime(), nullable=False),
        sa.Column("strikes", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_pauses")),
    )
    with op.batch_alter_table("messages") as batch_op:
        batch_op.drop_constraint(op.f("ck_messages_state_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_messages_state_known"), NEW)


def downgrade() -> None:
    op.execute("UPDATE messages SET state = 'failed' WHERE state = 'unsure'")
    with op.batch_alter_table("messages") as batch_op:
        batch_op.drop_constraint(op.f("ck_messages_state_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_messages_state_known"), OLD)
    op.drop_table("mail_pauses")
