"""time taken to answer, for the data-quality flags

Invitations get the seconds spent answering so far and when the person last saw or sent a
page; responses get the seconds taken (identified waves) and its band (every wave; all an
anonymous wave keeps). Invitations not yet begun are timed from now on; those already
begun, and every response sent before, stay untimed (NULL), so no time is guessed.

Revision ID: c4d8e1f2a3b5
Revises: 9f4b2c6d8e11
Create Date: 2026-12-07 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4d8e1f2a3b5"
down_revision: str | None = "9f4b2c6d8e11"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN: responses and answers are WITHOUT ROWID tables on SQLite, which a
    # batch copy would not keep.
    op.add_column("invitations", sa.Column("active_seconds", sa.Integer(), nullable=True))
    op.add_column("invitations", sa.Column("last_active_at", sa.DateTime(), nullable=True))
    op.add_column("responses", sa.Column("seconds_taken", sa.Integer(), nullable=True))
    op.add_column("responses", sa.Column("time_band", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE invitations SET active_seconds = 0 "
        "WHERE started_at IS NULL AND completed_on IS NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("invitations") as batch_op:
        batch_op.drop_column("last_active_at")
        batch_op.drop_column("active_seconds")
    # Dropping a column of a WITHOUT ROWID table: SQLite 3.35+ does it in place.
    op.drop_column("responses", "time_band")
    op.drop_column("responses", "seconds_taken")
