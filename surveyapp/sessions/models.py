"""Sessions of a programme, who attended them, and the rule that evaluates each one.

A session is one meeting of the programme (an action learning set meeting, a mentoring
session, a supervision session, a training day, or a kind the programme names), at a time
stored in UTC and shown in UK time. Attendance is one row per person per session, kept by
a facilitator. An evaluation rule makes one wave per session, linked back by
``Wave.session_id``, so a session evaluation never needs to ask which session it was.
"""

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from surveyapp.db import Base
from surveyapp.people.models import Participant, Programme

#: The kinds the product knows, as stored: their names as pages show them.
SESSION_KINDS = {
    "als_meeting": "Action learning set meeting",
    "mentoring": "Mentoring session",
    "supervision": "Supervision session",
    "training": "Training day",
}
#: Who a rule's evaluation goes to.
RULE_AUDIENCES = {"attended": "Those who attended", "expected": "Everyone expected"}


class ProgrammeSession(Base):
    """One meeting of a programme, and who is expected at it."""

    __tablename__ = "programme_sessions"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="session_ends_after_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    #: A key of ``SESSION_KINDS``, or a kind the programme names itself.
    kind: Mapped[str] = mapped_column(String(100))
    #: An optional group, for example "Set A" or one mentor's pairs.
    group: Mapped[str] = mapped_column(String(200), default="", server_default="")
    title: Mapped[str] = mapped_column(String(200), default="", server_default="")
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    #: Who is expected: {"group": bool, "role": [...], "team": [...], "participant": [ids]};
    #: empty means the whole cohort.
    expected: Mapped[dict] = mapped_column(JSON, default=dict)
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    programme: Mapped[Programme] = relationship()
    attendance: Mapped[list["Attendance"]] = relationship(
        back_populates="session", cascade="all, delete-orphan"
    )

    @property
    def kind_name(self) -> str:
        return SESSION_KINDS.get(self.kind, self.kind)


class Attendance(Base):
    """Whether one person came to one session, as the register says."""

    __tablename__ = "attendance"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("programme_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id"), primary_key=True, index=True
    )
    attended: Mapped[bool]
    recorded_at: Mapped[datetime]
    #: The staff account that ticked the register, or None for an imported file.
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    session: Mapped[ProgrammeSession] = relationship(back_populates="attendance")
    participant: Mapped[Participant] = relationship()


class EvaluationRule(Base):
    """Each session of a kind gets its own wave of one questionnaire, made automatically."""

    __tablename__ = "evaluation_rules"
    __table_args__ = (
        CheckConstraint("audience IN ('attended', 'expected')", name="rule_audience_known"),
        CheckConstraint("privacy IN ('identified', 'anonymous')", name="rule_privacy_known"),
        CheckConstraint("open_days BETWEEN 1 AND 365", name="rule_open_days"),
        CheckConstraint("opens_after_minutes BETWEEN 0 AND 43200", name="rule_opens_after"),
        CheckConstraint("target_rate BETWEEN 1 AND 100", name="rule_target_rate"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    #: The questionnaire (by key); each wave pins the newest version when it is made.
    questionnaire_key: Mapped[str] = mapped_column(String(100))
    #: Which sessions it evaluates: a kind, or "" for every kind.
    session_kind: Mapped[str] = mapped_column(String(100), default="", server_default="")
    audience: Mapped[str] = mapped_column(String(20), default="attended")
    #: Minutes after the session ends that its evaluation opens.
    opens_after_minutes: Mapped[int] = mapped_column(default=120)
    open_days: Mapped[int] = mapped_column(default=14)
    privacy: Mapped[str] = mapped_column(String(20), default="identified")
    target_rate: Mapped[int] = mapped_column(default=60)
    #: Whether each wave gets the default reminder plan (invitation and reminders).
    with_reminders: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    #: A rule stopped makes no more waves; those made stay.
    stopped_at: Mapped[datetime | None]

    programme: Mapped[Programme] = relationship()


class DoseBands(Base):
    """How a programme groups attendance and mentoring sessions for outcomes by dose.

    Each list holds bands as ``[low, high, label]`` (``high`` None for "or more"), for
    example ``[[0, 3, "0-3 of 7"], [4, 4, "4 of 7"], [5, None, "5 or more of 7"]]``.
    """

    __tablename__ = "dose_bands"

    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), primary_key=True)
    attendance: Mapped[list] = mapped_column(JSON, default=list)
    mentoring: Mapped[list] = mapped_column(JSON, default=list)
    #: The session kind counted as mentoring ("mentoring" unless the programme says).
    mentoring_kind: Mapped[str] = mapped_column(
        String(100), default="mentoring", server_default="mentoring"
    )
