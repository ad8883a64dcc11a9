"""Programmes and the people taking part in them."""

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from surveyapp.db import Base

if TYPE_CHECKING:  # named in quotes: they are defined in areas that import this one
    from surveyapp.waves.models import Invitation, Wave


class Programme(Base):
    """A programme being evaluated, with its cohort of participants and its waves."""

    __tablename__ = "programmes"
    __table_args__ = (
        CheckConstraint("reporting_threshold BETWEEN 3 AND 1000", name="threshold_at_least_3"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    #: Who runs the evaluation, as participants should read it on the start page.
    run_by: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    #: Groups with fewer respondents are hidden from evaluators (never below 3).
    reporting_threshold: Mapped[int] = mapped_column(default=5, server_default="5")
    #: After this day, participants' contact details are removed (``flask retention apply``).
    contact_retention_until: Mapped[date | None]
    created_at: Mapped[datetime]

    participants: Mapped[list["Participant"]] = relationship(back_populates="programme")
    waves: Mapped[list["Wave"]] = relationship(back_populates="programme", order_by="Wave.opens_at")


class Participant(Base):
    """A member of a programme's cohort. Contact details live only here."""

    __tablename__ = "participants"
    __table_args__ = (UniqueConstraint("programme_id", "id_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    #: The programme's own ID number for the person: the key of every export.
    id_number: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    team: Mapped[str] = mapped_column(String(200), default="")
    organisation: Mapped[str] = mapped_column(String(200), default="")
    region: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(200), default="")
    #: Further columns of the cohort file, by their heading.
    attributes: Mapped[dict] = mapped_column(JSON, default=dict)
    withdrawn_at: Mapped[datetime | None]
    #: When name, email and further columns were removed (retention date passed, or erasure).
    contact_removed_at: Mapped[datetime | None]
    #: When the person's identified answers were erased at their request.
    erased_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    programme: Mapped[Programme] = relationship(back_populates="participants")
    invitations: Mapped[list["Invitation"]] = relationship(back_populates="participant")

    @property
    def is_withdrawn(self) -> bool:
        return self.withdrawn_at is not None

    @property
    def has_contact_details(self) -> bool:
        return self.contact_removed_at is None
