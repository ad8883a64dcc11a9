"""Staff accounts and the programmes each may see."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from surveyapp.db import Base

ROLES = ("admin", "programme_manager", "evaluator", "viewer", "facilitator")


class User(Base):
    """A member of the study team who signs in to the admin side."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "role IN ('admin', 'programme_manager', 'evaluator', 'viewer', 'facilitator')",
            name="role_known",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stored lower-cased, so sign-in is not case-sensitive.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    #: argon2id hash, never the password.
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    is_active: Mapped[bool] = mapped_column(default=True)
    #: Part of every session of this account; signing out adds one, which ends them all,
    #: even a copy of the cookie kept somewhere.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime]
    last_signed_in_at: Mapped[datetime | None]


STAFF_ROLES = ("programme_manager", "evaluator", "viewer", "facilitator")


class ProgrammeMember(Base):
    """A staff user who may see one programme; administrators see every programme."""

    __tablename__ = "programme_members"

    programme_id: Mapped[int] = mapped_column(
        ForeignKey("programmes.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
