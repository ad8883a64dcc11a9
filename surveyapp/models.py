"""Records and their constraints. Workflows live in the domain packages."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from surveyapp.db import Base

ROLES = ("admin", "programme_manager", "evaluator", "viewer")


class User(Base):
    """A member of the study team who signs in to the admin side."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "role IN ('admin', 'programme_manager', 'evaluator', 'viewer')", name="role_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stored lower-cased, so sign-in is not case-sensitive.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    #: argon2id hash, never the password.
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    last_signed_in_at: Mapped[datetime | None]


class QuestionnaireVersion(Base):
    """The exact text of a questionnaire file as it was loaded, once per change.

    Answers point at the version they answered, so a file edited later never
    changes what an old answer meant.
    """

    __tablename__ = "questionnaire_versions"
    __table_args__ = (UniqueConstraint("questionnaire_key", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_key: Mapped[str] = mapped_column(String(100), index=True)
    #: 1, 2, 3 … per questionnaire key, in the order the versions were loaded.
    number: Mapped[int]
    #: sha256 of the file's bytes.
    content_hash: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(500))
    source_text: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[datetime]
    loaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    loaded_by: Mapped[User | None] = relationship()
