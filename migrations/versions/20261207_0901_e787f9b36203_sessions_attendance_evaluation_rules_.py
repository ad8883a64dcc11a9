"""sessions, attendance, evaluation rules, dose bands; the facilitator role

A programme gets sessions (its meetings), a register per session (attendance), rules that
make one evaluation wave per session (``waves.session_id``, unique), and the bands its
outcomes by dose are read in. Staff accounts may have the facilitator role, who keeps
registers without seeing answers. Nothing held changes: every new column is empty.

Revision ID: e787f9b36203
Revises: 5b7e2d9c41aa
Create Date: 2026-12-07 08:19:54.232078
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e787f9b36203"
down_revision: str | None = "5b7e2d9c41aa"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dose_bands",
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("attendance", sa.JSON(), nullable=False),
        sa.Column("mentoring", sa.JSON(), nullable=False),
        sa.Column(
            "mentoring_kind", sa.String(length=100), server_default="mentoring", nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"], ["programmes.id"], name=op.f("fk_dose_bands_programme_id_programmes")
        ),
        sa.PrimaryKeyConstraint("programme_id", name=op.f("pk_dose_bands")),
    )
    op.create_table(
        "evaluation_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("questionnaire_key", sa.String(length=100), nullable=False),
        sa.Column("session_kind", sa.String(length=100), server_default="", nullable=False),
        sa.Column("audience", sa.String(length=20), nullable=False),
        sa.Column("opens_after_minutes", sa.Integer(), nullable=False),
        sa.Column("open_days", sa.Integer(), nullable=False),
        sa.Column("privacy", sa.String(length=20), nullable=False),
        sa.Column("target_rate", sa.Integer(), nullable=False),
        sa.Column("with_reminders", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("stopped_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "audience IN ('attended', 'expected')",
            name=op.f("ck_evaluation_rules_rule_audience_known"),
        ),
        sa.CheckConstraint(
            "privacy IN ('identified', 'anonymous')",
            name=op.f("ck_evaluation_rules_rule_privacy_known"),
        ),
        sa.CheckConstraint(
            "open_days BETWEEN 1 AND 365", name=op.f("ck_evaluation_rules_rule_open_days")
        ),
        sa.CheckConstraint(
            "opens_after_minutes BETWEEN 0 AND 43200",
            name=op.f("ck_evaluation_rules_rule_opens_after"),
        ),
        sa.CheckConstraint(
            "target_rate BETWEEN 1 AND 100", name=op.f("ck_evaluation_rules_rule_target_rate")
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programmes.id"],
            name=op.f("fk_evaluation_rules_programme_id_programmes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluation_rules")),
    )
    with op.batch_alter_table("evaluation_rules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_evaluation_rules_programme_id"), ["programme_id"], unique=False
        )

    op.create_table(
        "programme_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=100), nullable=False),
        sa.Column("group", sa.String(length=200), server_default="", nullable=False),
        sa.Column("title", sa.String(length=200), server_default="", nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.Column("expected", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "ends_at > starts_at", name=op.f("ck_programme_sessions_session_ends_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programmes.id"],
            name=op.f("fk_programme_sessions_programme_id_programmes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programme_sessions")),
    )
    with op.batch_alter_table("programme_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_programme_sessions_programme_id"), ["programme_id"], unique=False
        )

    op.create_table(
        "attendance",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("attended", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_attendance_participant_id_participants"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_attendance_recorded_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["programme_sessions.id"],
            name=op.f("fk_attendance_session_id_programme_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", "participant_id", name=op.f("pk_attendance")),
    )
    with op.batch_alter_table("attendance", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_attendance_participant_id"), ["participant_id"], unique=False
        )

    with op.batch_alter_table("waves", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("evaluation_rule_id", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_waves_session_id"), ["session_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_waves_session_id_programme_sessions"),
            "programme_sessions",
            ["session_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_waves_evaluation_rule_id_evaluation_rules"),
            "evaluation_rules",
            ["evaluation_rule_id"],
            ["id"],
        )

    _roles(ROLES + ("facilitator",))


ROLES = ("admin", "programme_manager", "evaluator", "viewer")


def _roles(roles: tuple[str, ...]) -> None:
    listed = ", ".join(f"'{role}'" for role in roles)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_users_role_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_users_role_known"), f"role IN ({listed})")


def downgrade() -> None:
    op.execute("UPDATE users SET role = 'viewer', is_active = FALSE WHERE role = 'facilitator'")
    _roles(ROLES)
    with op.batch_alter_table("waves", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_waves_evaluation_rule_id_evaluation_rules"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_waves_session_id_programme_sessions"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("uq_waves_session_id"), type_="unique")
        batch_op.drop_column("evaluation_rule_id")
        batch_op.drop_column("session_id")

    with op.batch_alter_table("attendance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attendance_participant_id"))

    op.drop_table("attendance")
    with op.batch_alter_table("programme_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_programme_sessions_programme_id"))

    op.drop_table("programme_sessions")
    with op.batch_alter_table("evaluation_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evaluation_rules_programme_id"))

    op.drop_table("evaluation_rules")
    op.drop_table("dose_bands")
