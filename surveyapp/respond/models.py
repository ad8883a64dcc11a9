"""What participants answered: drafts, responses and answers."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from surveyapp.db import Base
from surveyapp.people.models import Participant
from surveyapp.waves.models import Invitation


class DraftAnswer(Base):
    """An answer in progress, held against the invitation so the person can resume."""

    __tablename__ = "draft_answers"
    __table_args__ = (UniqueConstraint("invitation_id", "answer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitations.id", ondelete="CASCADE"))
    #: An item id, a matrix row id, or "<item id>_other".
    answer_id: Mapped[str] = mapped_column(String(100))
    value: Mapped[object | None] = mapped_column(JSON)
    updated_at: Mapped[datetime]

    invitation: Mapped[Invitation] = relationship(back_populates="drafts")


class Response(Base):
    """A submitted set of answers.

    Identified waves keep the participant. Anonymous waves keep only team,
    organisation, region and role: the key is random, there is no timestamp
    (the wave dates it), and nothing points back at the invitation.

    An anonymous wave also keeps no order of submission (``respond/release.py``):
    its held responses are written again, under new random keys and in random order,
    at each submission, and results read only responses released in steps of the
    reporting threshold. On SQLite the table has no rowid (``WITHOUT ROWID``): rows
    are stored in the order of their random key, so neither the file nor a natural
    ``SELECT`` follows submission. PostgreSQL has no such option; there the rewrite
    is what keeps its physical order random (the migration reordered older rows).
    """

    __tablename__ = "responses"
    __table_args__ = {"sqlite_with_rowid": False}

    #: Random (uuid4 hex), so the key carries no order of submission.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id"), index=True)
    questionnaire_version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_versions.id"))
    #: NULL in anonymous waves.
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id"), index=True)
    team: Mapped[str] = mapped_column(String(200), default="")
    organisation: Mapped[str] = mapped_column(String(200), default="")
    region: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(200), default="")
    #: Whether results and exports may read it: NULL while an anonymous wave holds it
    #: back; 1, 2, … the step it was released in; 0 in an identified wave, whose
    #: responses are released as they are sent.
    release: Mapped[int | None]
    #: Seconds taken (first page shown to sending, summed over visits); identified waves
    #: only, NULL when not timed. An anonymous wave keeps only ``time_band``.
    seconds_taken: Mapped[int | None]
    #: The band of the time taken (``quality.rules.TIME_BANDS``), NULL when not timed: all an
    #: anonymous wave keeps of time, a duration in bands, never a moment.
    time_band: Mapped[int | None]

    answers: Mapped[list["Answer"]] = relationship(
        back_populates="response", cascade="all, delete-orphan"
    )
    participant: Mapped[Participant | None] = relationship()


class Answer(Base):
    """One answer of a submitted response; keyed by response and answer id, no sequence."""

    __tablename__ = "answers"
    #: Stored in key order on SQLite, as responses are: no rowid follows submission.
    __table_args__ = {"sqlite_with_rowid": False}

    response_id: Mapped[str] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True
    )
    answer_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[object | None] = mapped_column(JSON)

    response: Mapped[Response] = relationship(back_populates="answers")
