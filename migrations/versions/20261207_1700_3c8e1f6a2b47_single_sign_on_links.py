"""single sign-on: each staff account's subject at an OpenID Connect provider

A new table of links (issuer, subject) to staff accounts, made at a first sign-in that
matched a verified email. Nothing held changes.

Revision ID: 3c8e1f6a2b47
Revises: 7a1c2f0d9b3e
Create Date: 2026-12-07 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3c8e1f6a2b47"
down_revision: str | None = "7a1c2f0d9b3e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_in_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_sign_in_links_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_links")),
        sa.UniqueConstraint("issuer", "subject", name=op.f("uq_sign_in_links_issuer")),
        sa.UniqueConstraint("user_id", "issuer", name=op.f("uq_sign_in_links_user_id")),
    )


def downgrade() -> None:
    op.drop_table("sign_in_links")
