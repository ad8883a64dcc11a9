"""Waves of a programme and the invitations (personal links) of each."""

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from surveyapp.db import Base
from surveyapp.people.models import Participant, Programme
from surveyapp.questionnaires.models import QuestionnaireVersion

if TYPE_CHECKING:  # named in quotes: they are defined in areas that import this one
    from surveyapp.respond.models import DraftAnswer
    from surveyapp.sessions.models import ProgrammeSession


PRIVACY_MODES = ("identified", "anonymous")


class Wave(Base):
    """One questionnaire version sent to some of a programme's cohort between two dates."""

    __tablename__ = "waves"
    __table_args__ = (
        CheckConstraint("privacy IN ('identified', 'anonymous')", name="privacy_known"),
        CheckConstraint("target_rate BETWEEN 1 AND 100", name="target_rate_percent"),
        CheckConstraint("closes_at > opens_at", name="closes_after_opening"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    questionnaire_version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_versions.id"))
    label: Mapped[str] = mapped_column(String(200))
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime]
    #: Percentage of invited people whose completion counts as a good response.
    target_rate: Mapped[int] = mapped_column(default=60)
    #: "identified": answers linked to the person; "anonymous": only completion is known.
    privacy: Mapped[str] = mapped_column(String(20))
    #: Who was invited, as chosen: {"role": [...], "team": [...], "region": [...]}.
    audience: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]
    #: The session this wave evaluates, when an evaluation rule made it (one wave a session).
    session_id: Mapped[int | None] = mapped_column(ForeignKey("programme_sessions.id"), unique=True)
    evaluation_rule_id: Mapped[int | None] = mapped_column(ForeignKey("evaluation_rules.id"))

    programme: Mapped[Programme] = relationship(back_populates="waves")
    questionnaire_version: Mapped[QuestionnaireVersion] = relationship()
    invitations: Mapped[list["Invitation"]] = relationship(back_populates="wave")
    programme_session: Mapped["ProgrammeSession | None"] = relationship()

    @property
    def is_anonymous(self) -> bool:
        return self.privacy == "anonymous"


class Invitation(Base):
    """One person's place in one wave, reached through a personal link."""

    __tablename__ = "invitations"
    __table_args__ = (
        UniqueConstraint("wave_id", "participant_id"),
        CheckConstraint("completed_at IS NULL OR completed_on IS NOT NULL", name="completion_day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    #: secrets.token_urlsafe(16): 128 random bits; the only way in for the participant.
    token: Mapped[str] = mapped_column(String(64), unique=True)
    opened_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    #: When the person sent their answers; identified waves only. An anonymous wave keeps
    #: no time of day (``completed_on`` only), so no time links the invitation to a response.
    completed_at: Mapped[datetime | None]
    #: The day (UTC, as every stored time) the person sent their answers, in every wave:
    #: what "completed" means, and all that an anonymous wave keeps of when.
    completed_on: Mapped[date | None]
    #: Pages done of pages shown, kept for reminders ("you have done 3 of 5 pages").
    pages_done: Mapped[int] = mapped_column(default=0)
    pages_total: Mapped[int] = mapped_column(default=0)
    #: Set when the person asked for no more reminders about this wave; they can still answer.
    opted_out_at: Mapped[datetime | None]
    #: Seconds spent answering so far: the gaps between pages shown, pages sent and the
    #: send, summed over visits (``respond.flow.note_activity``). NULL: not timed (the
    #: person began before timing was recorded). An anonymous wave clears it on sending.
    active_seconds: Mapped[int | None] = mapped_column(default=0)
    #: When the person last saw or sent a page, to time the next step; cleared on sending.
    last_active_at: Mapped[datetime | None]

    wave: Mapped[Wave] = relationship(back_populates="invitations")
    participant: Mapped[Participant] = relationship(back_populates="invitations")
    drafts: Mapped[list["DraftAnswer"]] = relationship(
        back_populates="invitation", cascade="all, delete-orphan"
    )

    @property
    def is_completed(self) -> bool:
        return self.completed_on is not None

    @validates("completed_at")
    def _completed_that_day(self, _key: str, value: datetime | None) -> datetime | None:
        """A completion time carries its day with it (and clearing it clears the day)."""
        self.completed_on = value.date() if value is not None else None
        return value
