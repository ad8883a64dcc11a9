"""reporting threshold per programme

Revision ID: a2e8066ba654
Revises: 07ba3fc09d44
Create Date: 2026-11-23 12:56:41.601836
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a2e8066ba654"
down_revision: str | None = "07ba3fc09d44"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("programmes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reporting_threshold", sa.Integer(), server_default="5", nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_programmes_threshold_at_least_3"), "reporting_threshold BETWEEN 3 AND 1000"
        )


def downgrade() -> None:
    with op.batch_alter_table("programmes", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_programmes_threshold_at_least_3"), type_="check")
        batch_op.drop_column("reporting_threshold")
