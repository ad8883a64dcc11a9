"""The reminder plan and the outbox: emails, steps and messages."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint, and_, case
from sqlalchemy import literal_column as sql
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from surveyapp.db import Base
from surveyapp.mail import refuses_address
from surveyapp.waves.models import Invitation, Wave

#: "unsure": the connection was lost after the message was sent and before the server's
#: answer; it may have arrived, so it waits for an administrator to send it again or not.
MESSAGE_STATES = ("queued", "sending", "sent", "unsure", "failed", "cancelled")
#: The states as people read them: "kept" is a "sent" message that never left the app,
#: because no mail server is set up (the in-app outbox took it).
SHOWN_STATES = ("queued", "sending", "sent", "kept", "unsure", "failed", "cancelled")
STATE_WORDS = {
    "queued": "queued",
    "sending": "sending",
    "sent": "sent",
    "kept": "kept, not sent: no mail server",
    "unsure": "may have been sent",
    "failed": "failed",
    "cancelled": "cancelled",
}
STEP_AUDIENCES = ("everyone", "not_opened", "started", "not_completed")


class EmailTemplate(Base):
    """An invitation or reminder email of one wave, written as a sandboxed Jinja text."""

    __tablename__ = "email_templates"
    __table_args__ = (UniqueConstraint("wave_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]

    wave: Mapped[Wave] = relationship()


class ReminderStep(Base):
    """One step of a wave's plan: when, to whom, with which template."""

    __tablename__ = "reminder_steps"
    __table_args__ = (
        CheckConstraint(
            "audience IN ('everyone', 'not_opened', 'started', 'not_completed')",
            name="audience_known",
        ),
        CheckConstraint(
            "(send_on IS NULL) <> (days_after_opening IS NULL)", name="one_way_to_say_when"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id"), index=True)
    position: Mapped[int]
    label: Mapped[str] = mapped_column(String(200))
    #: A fixed UTC time to send, or a number of days after the wave opens (one of the two).
    send_on: Mapped[datetime | None]
    days_after_opening: Mapped[int | None]
    audience: Mapped[str] = mapped_column(String(20))
    template_id: Mapped[int] = mapped_column(ForeignKey("email_templates.id"))
    #: For a final, personalised step: the deadline given, in working days after sending.
    deadline_working_days: Mapped[int | None]

    wave: Mapped[Wave] = relationship()
    template: Mapped[EmailTemplate] = relationship()


class Message(Base):
    """One email to one person for one step: the outbox row and its delivery state.

    The unique (step, invitation) pair is what makes a second sender, a
    restarted sender or a retry unable to send anyone the same step twice.
    """

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("step_id", "invitation_id"),
        CheckConstraint(
            "state IN ('queued', 'sending', 'sent', 'unsure', 'failed', 'cancelled')",
            name="state_known",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id"), index=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("reminder_steps.id"))
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitations.id"), index=True)
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    #: The mail server's answer to the last failed attempt, or why it was cancelled.
    last_error: Mapped[str] = mapped_column(Text, default="")
    queued_at: Mapped[datetime]
    #: When the current sender took it; a "sending" row older than the lease is taken again.
    claimed_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    #: "smtp" when a mail server accepted it, "outbox" when kept in the app (no SMTP set up).
    transport: Mapped[str] = mapped_column(String(10), default="")

    step: Mapped[ReminderStep] = relationship()
    invitation: Mapped[Invitation] = relationship()

    @hybrid_property
    def shown_state(self) -> str:
        """The state as people read it: "kept" when the outbox took it for want of a mail server."""
        return "kept" if self.state == "sent" and self.transport == "outbox" else self.state

    @shown_state.inplace.expression
    @classmethod
    def _shown_state_expression(cls):
        # Constants, not parameters, so that PostgreSQL sees the same text in GROUP BY.
        kept = and_(cls.state == sql("'sent'"), cls.transport == sql("'outbox'"))
        return case((kept, sql("'kept'")), else_=cls.state)

    @property
    def state_words(self) -> str:
        """For example "sent", or "kept, not sent: no mail server"."""
        return STATE_WORDS[self.shown_state]

    @property
    def refuses_address(self) -> bool:
        """Failed for good because the mail server refused the address (550 5.1.1 and the like)."""
        return (
            self.state == "failed"
            and self.next_attempt_at is None
            and refuses_address(self.last_error or "")
        )


class MailPause(Base):
    """The mail server asked the sender to slow down: no run sends before ``until``.

    One row at most. ``strikes`` counts the runs in a row that the server held back, so
    each pause is twice the last (to a limit); a run that sends without being held back
    clears it.
    """

    __tablename__ = "mail_pauses"

    id: Mapped[int] = mapped_column(primary_key=True)
    until: Mapped[datetime]
    strikes: Mapped[int] = mapped_column(default=1)
    #: The server's answer, for example "421 4.3.2 Service not available".
    reason: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime]
