"""reminders: templates, steps, messages, opt-out

Revision ID: 07ba3fc09d44
Revises: a2e30ac440df
Create Date: 2026-11-23 11:21:26.204155
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "07ba3fc09d44"
down_revision: str | None = "a2e30ac440df"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "email_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["wave_id"], ["waves.id"], name=op.f("fk_email_templates_wave_id_waves")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_templates")),
        sa.UniqueConstraint("wave_id", "name", name=op.f("uq_email_templates_wave_id")),
    )
    with op.batch_alter_table("email_templates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_email_templates_wave_id"), ["wave_id"], unique=False)

    op.create_table(
        "reminder_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("send_on", sa.DateTime(), nullable=True),
        sa.Column("days_after_opening", sa.Integer(), nullable=True),
        sa.Column("audience", sa.String(length=20), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("deadline_working_days", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "audience IN ('everyone', 'not_opened', 'started', 'not_completed')",
            name=op.f("ck_reminder_steps_audience_known"),
        ),
        sa.CheckConstraint(
            "(send_on IS NULL) <> (days_after_opening IS NULL)",
            name=op.f("ck_reminder_steps_one_way_to_say_when"),
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["email_templates.id"],
            name=op.f("fk_reminder_steps_template_id_email_templates"),
        ),
        sa.ForeignKeyConstraint(
            ["wave_id"], ["waves.id"], name=op.f("fk_reminder_steps_wave_id_waves")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_steps")),
    )
    with op.batch_alter_table("reminder_steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reminder_steps_wave_id"), ["wave_id"], unique=False)

    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.Column("to_address", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("queued_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("transport", sa.String(length=10), nullable=False),
        sa.CheckConstraint(
            "state IN ('queued', 'sending', 'sent', 'failed', 'cancelled')",
            name=op.f("ck_messages_state_known"),
        ),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["invitations.id"],
            name=op.f("fk_messages_invitation_id_invitations"),
        ),
        sa.ForeignKeyConstraint(
            ["step_id"], ["reminder_steps.id"], name=op.f("fk_messages_step_id_reminder_steps")
        ),
        sa.ForeignKeyConstraint(["wave_id"], ["waves.id"], name=op.f("fk_messages_wave_id_waves")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("step_id", "invitation_id", name=op.f("uq_messages_step_id")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_messages_invitation_id"), ["invitation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_messages_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_messages_wave_id"), ["wave_id"], unique=False)

    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("opted_out_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.drop_column("opted_out_at")

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_wave_id"))
        batch_op.drop_index(batch_op.f("ix_messages_state"))
        batch_op.drop_index(batch_op.f("ix_messages_invitation_id"))

    op.drop_table("messages")
    with op.batch_alter_table("reminder_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminder_steps_wave_id"))

    op.drop_table("reminder_steps")
    with op.batch_alter_table("email_templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_email_templates_wave_id"))

    op.drop_table("email_templates")
