"""session version per staff account

Signing out now ends every copy of a staff session, not only the one in the browser.
Existing accounts start at 0; sessions signed in before the upgrade must sign in again.

Revision ID: e9bd3ac0df35
Revises: 109c4ecf8be2
Create Date: 2026-11-23 14:56:43.300922
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e9bd3ac0df35"
down_revision: str | None = "109c4ecf8be2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_version", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_version")
