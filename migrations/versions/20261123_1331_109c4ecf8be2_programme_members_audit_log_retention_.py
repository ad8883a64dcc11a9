"""programme members, audit log, retention and erasure

Staff who are not administrators now see only the programmes they are members
of. So that nobody loses access on upgrade, every existing non-administrator is
made a member of every existing programme; an administrator can narrow it.
The audit log refuses UPDATE and DELETE with a trigger on each engine.

Revision ID: 109c4ecf8be2
Revises: a2e8066ba654
Create Date: 2026-11-23 13:31:54.234253
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "109c4ecf8be2"
down_revision: str | None = "a2e8066ba654"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in surveyapp.models on the day of this revision (copied: a revision never changes).
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
    ],
}
DROP_APPEND_ONLY = {
    "postgresql": ["DROP FUNCTION IF EXISTS audit_events_refuse() CASCADE"],
}


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=True),
        sa.Column("object_type", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_audit_events_actor_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_audit_events_programme_id"), ["programme_id"], unique=False
        )

    op.create_table(
        "programme_members",
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programmes.id"],
            name=op.f("fk_programme_members_programme_id_programmes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_programme_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("programme_id", "user_id", name=op.f("pk_programme_members")),
    )
    with op.batch_alter_table("programme_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_programme_members_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_removed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(), nullable=True))

    with op.batch_alter_table("programmes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_retention_until", sa.Date(), nullable=True))

    op.execute(
        "INSERT INTO programme_members (programme_id, user_id) "
        "SELECT programmes.id, users.id FROM programmes CROSS JOIN users "
        "WHERE users.role <> 'admin'"
    )
    for statement in APPEND_ONLY_TRIGGERS.get(op.get_bind().dialect.name, []):
        op.execute(statement)


def downgrade() -> None:
    for statement in DROP_APPEND_ONLY.get(op.get_bind().dialect.name, []):
        op.execute(statement)
    with op.batch_alter_table("programmes", schema=None) as batch_op:
        batch_op.drop_column("contact_retention_until")

    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
        batch_op.drop_column("contact_removed_at")

    with op.batch_alter_table("programme_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_programme_members_user_id"))

    op.drop_table("programme_members")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_programme_id"))
        batch_op.drop_index(batch_op.f("ix_audit_events_at"))
        batch_op.drop_index(batch_op.f("ix_audit_events_action"))

    op.drop_table("audit_events")
