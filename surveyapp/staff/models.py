"""Staff accounts and the programmes each may see."""

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, UniqueConstraint
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
    #: Two-step verification: the shared secret of the authenticator app (base32). Set when
    #: enrolment starts; the person is enrolled only once ``two_step_enrolled_at`` is set,
    #: after they typed a first code.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    two_step_enrolled_at: Mapped[datetime | None]
    #: The time-step (30 seconds since 1970) of the last code accepted: a code is never
    #: accepted twice, nor one older than it.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

    @property
    def has_two_step(self) -> bool:
        return self.two_step_enrolled_at is not None


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


class RecoveryCode(Base):
    """One of a person's ten single-use recovery codes, kept only as a salted hash."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: ``salt$sha256(salt + code)`` in hex; the code itself is shown once and never kept.
    code_hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class PasswordReset(Base):
    """A "forgot your password" link: single use, valid for an hour, kept only as a hash."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: SHA-256 of the link's token, in hex: the database never holds a working link.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class SignInLink(Base):
    """A staff account's identity at a single sign-on provider: the provider's subject,
    remembered after the first sign-in matched the account on a verified email, so that a
    later change of email at either end signs in the same person."""

    __tablename__ = "sign_in_links"
    __table_args__ = (UniqueConstraint("issuer", "subject"), UniqueConstraint("user_id", "issuer"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    #: The provider's issuer URL, as its ID tokens say it: subjects are unique per issuer.
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
    #: The verified email the first match was made on.
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]


class StaffSession(Base):
    """One browser or device signed in as a staff member, for the list on *Your account*.

    The cookie holds a random key; the database keeps only its SHA-256. A session is live
    while it is not ended and its ``session_version`` is the account's (a new password or
    role, or "sign out everywhere else", moves the account's on).
    """

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    session_version: Mapped[int]
    #: The browser's own description of itself (User-Agent), shortened.
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    signed_in_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
