"""Stored questionnaire versions: the exact file text of each."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from surveyapp.db import Base
from surveyapp.staff.models import User


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
